using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// One resolution level of the <see cref="DdpmUNet"/>: residual blocks, each followed by self-attention when the
/// level's resolution is listed, then a resampling conv (stride-2 3×3 conv down; nearest ×2 then 3×3 conv up),
/// absent on the level that does not change resolution.
/// </summary>
public sealed class UNetLevel : Module
{
    private readonly ModuleList<ResBlock> blocks;
    private readonly ModuleList<AttentionBlock>? attentions;
    private readonly Conv2d? resample;
    private readonly bool _up;

    /// <summary>
    /// <paramref name="inChannels"/>: width of the input (down) or of the map arriving from below (up);
    /// <paramref name="channels"/>: the level's width; <paramref name="count"/>: residual blocks;
    /// <paramref name="skipChannels"/>: up levels, widths of the skips each block concatenates in pop order
    /// (down levels: null); <paramref name="attention"/>: self-attention after each block;
    /// <paramref name="resampleAtEnd"/>: end with a down/upsampling conv; <paramref name="up"/>: an up level;
    /// <paramref name="c"/>: the config (embedding width, groups, heads, dropout).
    /// </summary>
    public UNetLevel(int inChannels, int channels, int count, IReadOnlyList<int>? skipChannels, bool attention,
                     bool resampleAtEnd, bool up, DdpmConfig c) : base(nameof(UNetLevel))
    {
        _up = up;
        int emb = c.EffectiveTimeEmbedDim;
        var list = new List<ResBlock>();
        int width = inChannels;
        for (int i = 0; i < count; i++)
        {
            list.Add(new ResBlock(width + (skipChannels?[i] ?? 0), channels, emb, c.NormGroups, c.Dropout));
            width = channels;
        }
        blocks = ModuleList(list.ToArray());
        if (attention)
            attentions = ModuleList(Enumerable.Range(0, count).Select(_ => new AttentionBlock(channels, c.AttentionHeads, c.NormGroups)).ToArray());
        if (resampleAtEnd)
            resample = up ? Conv2d(channels, channels, 3, padding: 1) : Conv2d(channels, channels, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    /// <summary>
    /// Down: pushes every block's output and the downsampled map onto <paramref name="skips"/>.
    /// Up: concatenates one popped skip before every block. (B, C, S, S) → (B, C', S', S').
    /// </summary>
    public Tensor Forward(Tensor h, Tensor emb, Stack<Tensor> skips)
    {
        for (int i = 0; i < blocks.Count; i++)
        {
            if (_up) h = torch.cat(new[] { h, skips.Pop() }, dim: 1);   // (B, C + Cskip, S, S)
            h = blocks[i].Forward(h, emb);
            if (attentions is not null) h = attentions[i].Forward(h);
            if (!_up) skips.Push(h);
        }
        if (resample is not null)
        {
            if (_up)
                h = resample.forward(functional.interpolate(h, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest)); // (B, C, 2S, 2S)
            else
            {
                h = resample.forward(h);   // (B, C, S/2, S/2)
                skips.Push(h);
            }
        }
        return h;
    }
}
