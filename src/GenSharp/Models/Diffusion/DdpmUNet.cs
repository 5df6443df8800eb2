using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// The noise-prediction UNet of Ho et al. 2020 (appendix B), sized by <see cref="DdpmConfig"/>:
/// sinusoidal time embedding → MLP (+ a class embedding whose last row is "no class"), a 3×3 input conv,
/// down levels (residual blocks, optional self-attention, stride-2 conv), a middle of residual block →
/// attention → residual block, up levels that concatenate the down path's skips, and GroupNorm → SiLU →
/// a zero-initialised 3×3 output conv (a fresh model predicts 0).
/// Checkpoint keys: <c>time_mlp.0.weight</c>, <c>class_embedding.weight</c>, <c>conv_in.weight</c>,
/// <c>down.L.blocks.i.conv1.weight</c>, <c>down.L.attentions.i.qkv.weight</c>, <c>down.L.resample.weight</c>,
/// <c>mid_block1.*</c>, <c>mid_attention.*</c>, <c>mid_block2.*</c>, <c>up.K.*</c> (K = 0 is the deepest level),
/// <c>norm_out.*</c>, <c>conv_out.*</c>.
/// </summary>
public sealed class DdpmUNet : Module
{
    private readonly Sequential time_mlp;
    private readonly Embedding? class_embedding;
    private readonly Conv2d conv_in;
    private readonly ModuleList<UNetLevel> down;
    private readonly ResBlock mid_block1;
    private readonly AttentionBlock mid_attention;
    private readonly ResBlock mid_block2;
    private readonly ModuleList<UNetLevel> up;
    private readonly GroupNorm norm_out;
    private readonly Conv2d conv_out;
    private readonly int _timeFeatures;

    public DdpmUNet(DdpmConfig c) : base(nameof(DdpmUNet))
    {
        _timeFeatures = c.BaseChannels;
        int emb = c.EffectiveTimeEmbedDim, levels = c.ChannelMult.Length;
        time_mlp = Sequential(Linear(c.BaseChannels, emb), SiLU(), Linear(emb, emb));
        if (c.Conditional) class_embedding = Embedding(c.NumClasses + 1, emb);   // row num_classes = "no class"
        conv_in = Conv2d(c.ImageChannels, c.BaseChannels, 3, padding: 1);

        // Down path; remember the width of every tensor pushed as a skip.
        var skipWidths = new Stack<int>();
        skipWidths.Push(c.BaseChannels);
        var downLevels = new List<UNetLevel>();
        int width = c.BaseChannels;
        for (int l = 0; l < levels; l++)
        {
            int ch = c.BaseChannels * c.ChannelMult[l];
            bool last = l == levels - 1;
            downLevels.Add(new UNetLevel(width, ch, c.ResBlocks, null, c.AttentionResolutions.Contains(c.ImageSize >> l), !last, up: false, c));
            for (int i = 0; i < c.ResBlocks; i++) skipWidths.Push(ch);
            if (!last) skipWidths.Push(ch);
            width = ch;
        }
        down = ModuleList(downLevels.ToArray());

        mid_block1 = new ResBlock(width, width, emb, c.NormGroups, c.Dropout);
        mid_attention = new AttentionBlock(width, c.AttentionHeads, c.NormGroups);
        mid_block2 = new ResBlock(width, width, emb, c.NormGroups, c.Dropout);

        // Up path, deepest level first; each block consumes one skip (res_blocks + 1 per level).
        var upLevels = new List<UNetLevel>();
        for (int l = levels - 1; l >= 0; l--)
        {
            int ch = c.BaseChannels * c.ChannelMult[l];
            var skips = Enumerable.Range(0, c.ResBlocks + 1).Select(_ => skipWidths.Pop()).ToArray();
            upLevels.Add(new UNetLevel(width, ch, c.ResBlocks + 1, skips, c.AttentionResolutions.Contains(c.ImageSize >> l), l > 0, up: true, c));
            width = ch;
        }
        up = ModuleList(upLevels.ToArray());

        norm_out = DiffusionLayers.Norm(c.NormGroups, width);
        conv_out = ModuleInit.Zeroed(Conv2d(width, c.ImageChannels, 3, padding: 1));
        RegisterComponents();
    }

    /// <summary>
    /// Model output (ε or v) for noisy images x (B, C, H, W) at integer steps t (B); labels (B) in
    /// [0, num_classes] (num_classes = "no class") or null for an unconditional UNet. → (B, C, H, W).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor? labels)
    {
        var emb = DiffusionLayers.Conditioning(time_mlp, class_embedding, _timeFeatures, t, labels);   // (B, E)
        var skips = new Stack<Tensor>();
        // Back to the default layout: conv_in's one input channel makes it channels-last (DdpmModel.BlockedConvolutions).
        var h = ConvolutionLayout.DefaultLayout(conv_in.forward(x));                    // (B, base, H, W)
        skips.Push(h);
        foreach (var level in down) h = level.Forward(h, emb, skips);                   // (B, Cdeep, H/2^(L−1), ·)
        h = mid_block2.Forward(mid_attention.Forward(mid_block1.Forward(h, emb)), emb);
        foreach (var level in up) h = level.Forward(h, emb, skips);                     // (B, base, H, W)
        // The SiLU runs in conv_out's layout: its one output channel makes it channels-last.
        var normed = ConvolutionLayout.InputLayoutOf(conv_out, norm_out.forward(h));
        return conv_out.forward(functional.silu(normed));                               // (B, C, H, W)
    }
}
