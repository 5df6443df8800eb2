using GenSharp.Models.Diffusion;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Video;

/// <summary>
/// The factorised space-time UNet of <c>videodiffusion</c>. Every frame goes through the same 2D UNet (residual blocks
/// with the time + class embedding, strided-conv downsampling, nearest-neighbour upsampling, one skip per level) and
/// after each residual block a <see cref="TemporalAttention"/> mixes the frames at each position. Input per frame: the
/// noisy frame x_t, the clean known frame (0 where unknown) and the known-frame mask; output: ε for every frame.
/// </summary>
public sealed class SpaceTimeUNet : Module
{
    /// <summary>Channels per frame of the input: x_t, known frame, mask.</summary>
    public const int InputChannels = 3;

    // Field names are the checkpoint keys.
    private readonly Sequential time_mlp;
    private readonly Embedding class_embedding;
    private readonly Conv2d input_conv;
    private readonly ModuleList<ResBlock> down_res;
    private readonly ModuleList<TemporalAttention> down_time;
    private readonly ModuleList<Conv2d> downsample;
    private readonly ResBlock mid_res1;
    private readonly TemporalAttention mid_time;
    private readonly ResBlock mid_res2;
    private readonly ModuleList<ResBlock> up_res;
    private readonly ModuleList<TemporalAttention> up_time;
    private readonly ModuleList<Conv2d> upsample;
    private readonly GroupNorm out_norm;
    private readonly Conv2d out_conv;
    private readonly int _base;
    private readonly int _levels;

    public SpaceTimeUNet(VideoDiffusionConfig c) : base(nameof(SpaceTimeUNet))
    {
        _base = c.BaseChannels;
        _levels = c.ChannelMult.Length;
        int e = c.EmbedDim;
        time_mlp = Sequential(Linear(_base, e), SiLU(), Linear(e, e));
        class_embedding = Embedding(c.NumClasses + 1, e);   // the last row is "no class"
        input_conv = Conv2d(InputChannels, _base, 3, padding: 1);
        var widths = c.ChannelMult.Select(m => _base * m).ToArray();
        down_res = new ModuleList<ResBlock>();
        down_time = new ModuleList<TemporalAttention>();
        downsample = new ModuleList<Conv2d>();
        up_res = new ModuleList<ResBlock>();
        up_time = new ModuleList<TemporalAttention>();
        upsample = new ModuleList<Conv2d>();
        for (int i = 0; i < _levels; i++)
        {
            down_res.Add(new ResBlock(i == 0 ? _base : widths[i - 1], widths[i], e, c.NormGroups, 0));
            down_time.Add(new TemporalAttention(widths[i], c.AttentionHeads, c.NormGroups));
            if (i < _levels - 1) downsample.Add(Conv2d(widths[i], widths[i], 3, stride: 2, padding: 1));
        }
        int last = widths[^1];
        mid_res1 = new ResBlock(last, last, e, c.NormGroups, 0);
        mid_time = new TemporalAttention(last, c.AttentionHeads, c.NormGroups);
        mid_res2 = new ResBlock(last, last, e, c.NormGroups, 0);
        // Up path, listed from the deepest level to the first.
        for (int i = _levels - 1; i >= 0; i--)
        {
            int below = i == _levels - 1 ? last : widths[i + 1];
            up_res.Add(new ResBlock(below + widths[i], widths[i], e, c.NormGroups, 0));
            up_time.Add(new TemporalAttention(widths[i], c.AttentionHeads, c.NormGroups));
            if (i > 0) upsample.Add(Conv2d(widths[i], widths[i], 3, padding: 1));
        }
        out_norm = DiffusionLayers.Norm(c.NormGroups, widths[0]);
        out_conv = Conv2d(widths[0], 1, 3, padding: 1);
        RegisterComponents();
    }

    /// <summary>
    /// ε for every frame. x (B, T, 3, H, W): x_t, known frame, mask per frame; t (B) steps; labels (B), the
    /// "no class" label = num_classes for unconditional passes. Returns (B, T, 1, H, W).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor labels)
    {
        // Handles are released as soon as this code is done with them (see TemporalAttention.Forward): the skips live
        // until the up path has concatenated them, everything else one block.
        long b = x.shape[0], frames = x.shape[1], hgt = x.shape[3], wid = x.shape[4];
        using var clipEmb = DiffusionLayers.Conditioning(time_mlp, class_embedding, _base, t, labels);  // (B, E)
        using var emb = clipEmb.repeat_interleave(frames, dim: 0);                                      // (B·T, E), frame-major per clip
        Tensor h;
        using (var frameStack = x.reshape(b * frames, InputChannels, hgt, wid))
            h = input_conv.forward(frameStack);                                                        // (B·T, C0, H, W)
        var skips = new List<Tensor>();
        try
        {
            for (int i = 0; i < _levels; i++)
            {
                using (var r = down_res[i].Forward(h, emb)) { h.Dispose(); h = down_time[i].Forward(r, frames); }
                skips.Add(h);
                if (i < _levels - 1) h = downsample[i].forward(h);                                      // halve H, W
            }
            using (var m1 = mid_res1.Forward(h, emb))                                                   // h is the deepest skip
            using (var mt = mid_time.Forward(m1, frames))
                h = mid_res2.Forward(mt, emb);
            for (int k = 0; k < _levels; k++)
            {
                int i = _levels - 1 - k;
                using (var joined = torch.cat(new[] { h, skips[i] }, 1))
                using (var r = up_res[k].Forward(joined, emb))
                {
                    h.Dispose();
                    skips[i].Dispose();
                    h = up_time[k].Forward(r, frames);
                }
                if (i > 0)
                {
                    using var larger = functional.interpolate(h, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Nearest);
                    h.Dispose();
                    h = upsample[k].forward(larger);
                }
            }
        }
        finally
        {
            foreach (var s in skips) s.Dispose();
        }
        using (h)
        using (var normed = out_norm.forward(h))
        using (var act = functional.silu(normed))
        using (var eps = out_conv.forward(act))                                                        // (B·T, 1, H, W)
            return eps.reshape(b, frames, 1, hgt, wid);
    }
}
