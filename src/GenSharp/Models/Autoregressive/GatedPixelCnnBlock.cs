using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Autoregressive;

/// <summary>
/// One gated block of the Gated PixelCNN (van den Oord et al. 2016, Fig. 2):
/// a vertical stack that sees every row above, a horizontal stack that sees the pixels to the
/// left in the current row, the 1×1 vertical→horizontal link fed from the vertical features shifted
/// down one row, gates tanh(W_f∗x + V_f·h) ⊙ σ(W_g∗x + V_g·h) (eq. 4, with h the class), a residual
/// connection on the horizontal stack and a 1×1 skip output summed into the network's head.
/// The last block feeds only the skip sum, so it has no vertical gate and no residual projection.
/// </summary>
public sealed class GatedPixelCnnBlock : Module
{
    // Field names are the checkpoint keys (blocks.0.vertical_conv.conv.weight, ...).
    private readonly CausalConv2d vertical_conv;
    private readonly CausalConv2d horizontal_conv;
    private readonly Conv2d vertical_to_horizontal;
    private readonly Conv2d? horizontal_out;
    private readonly Conv2d skip_out;
    private readonly Embedding? vertical_class_bias;
    private readonly Embedding? horizontal_class_bias;
    readonly bool _first, _last;

    /// <param name="inChannels">Image channels for the first block, else p.</param>
    /// <param name="channels">p: feature maps of each stack.</param>
    /// <param name="kernel">n of the n×n window.</param>
    /// <param name="first">First block: horizontal type A (excludes the current pixel), no residual.</param>
    /// <param name="last">Last block: only the skip output is needed.</param>
    /// <param name="numClasses">Classes for the per-class gate bias; 0 = unconditional.</param>
    public GatedPixelCnnBlock(int inChannels, int channels, int kernel, bool first, bool last, int numClasses) : base(nameof(GatedPixelCnnBlock))
    {
        _first = first;
        _last = last;
        int p = channels;
        vertical_conv = CausalConv2d.Vertical(inChannels, 2 * p, kernel);
        horizontal_conv = CausalConv2d.Horizontal(inChannels, 2 * p, kernel, typeA: first);
        vertical_to_horizontal = Conv2d(2 * p, 2 * p, 1);
        if (!last) horizontal_out = Conv2d(p, p, 1);
        skip_out = Conv2d(p, p, 1);
        if (numClasses > 0)
        {
            vertical_class_bias = Embedding(numClasses, 2 * p);
            horizontal_class_bias = Embedding(numClasses, 2 * p);
        }
        RegisterComponents();
        // A conditional model starts out as the unconditional one.
        using var _ = torch.no_grad();
        if (vertical_class_bias is not null) init.zeros_(vertical_class_bias.weight);
        if (horizontal_class_bias is not null) init.zeros_(horizontal_class_bias.weight);
    }

    /// <summary>
    /// Vertical stack. Returns the pre-gate features (B, 2p, R, W), which feed the link, and the gated
    /// output (B, p, R, W) for the next block (null for the last block). Row r depends on input rows ≤ r.
    /// </summary>
    public (Tensor Features, Tensor? Output) Vertical(Tensor v, Tensor? labels)
    {
        var conv = Layout(vertical_conv.forward(v));
        var f = AddClassBias(conv, vertical_class_bias, labels);                          // (B, 2p, R, W)
        if (!ReferenceEquals(f, conv)) conv.Dispose();
        return (f, _last ? null : Gate(f));
    }

    /// <summary>
    /// The vertical→horizontal link: 1×1 conv of the vertical features shifted down one row, so row r
    /// gets rows ≤ r−1 only (B, 2p, R, W). Row 0 sees the zero row (the conv's bias).
    /// </summary>
    public Tensor Link(Tensor verticalFeatures)
    {
        long rows = verticalFeatures.shape[2];
        using var padded = pad(verticalFeatures, new long[] { 0, 0, 1, 0 });
        using var shifted = padded.narrow(2, 0, rows);                                     // (B, 2p, R, W)
        return vertical_to_horizontal.forward(shifted);
    }

    /// <summary>
    /// Horizontal stack for input (B, Cin, R, W) and this block's link (B, 2p, R, W). Returns the
    /// residual output (B, p, R, W) for the next block (null for the last block) and the skip (B, p, R, W).
    /// </summary>
    public (Tensor? Output, Tensor Skip) Horizontal(Tensor h, Tensor link, Tensor? labels) =>
        HorizontalFrom(Layout(horizontal_conv.forward(h)), h, link, labels);

    // The first block's convolutions read the one-channel image, so their weights are channels-last and so are their
    // outputs; the rest of the network runs in the default layout (PixelCnnModel.BlockedConvolutions).
    Tensor Layout(Tensor convOutput) => _first ? ConvolutionLayout.DefaultLayout(convOutput) : convOutput;

    /// <summary>The horizontal convolution's zero padding on the left and kernel width (for <see cref="HorizontalColumn"/>).</summary>
    public (int LeftPad, int KernelWidth) HorizontalWindow => (horizontal_conv.LeftPad, horizontal_conv.KernelWidth);

    /// <summary>
    /// <see cref="Horizontal"/> for one column c only: <paramref name="window"/> (B, Cin, 1, KernelWidth) is
    /// what the horizontal conv reads for c (left-padded coordinates c … c+KernelWidth−1),
    /// <paramref name="hAtColumn"/> (B, Cin, 1, 1) the input at c (for the residual) and
    /// <paramref name="linkAtColumn"/> (B, 2p, 1, 1) the link at c. Outputs are (B, p, 1, 1).
    /// </summary>
    public (Tensor? Output, Tensor Skip) HorizontalColumn(Tensor window, Tensor hAtColumn, Tensor linkAtColumn, Tensor? labels) =>
        HorizontalFrom(horizontal_conv.ForwardWindow(window), hAtColumn, linkAtColumn, labels);

    // Takes ownership of conv (both callers make it). Handles are released as soon as this code is done with them, as
    // Python would drop its references: autograd keeps its own references to what backward needs, and a step's
    // dispose scope would otherwise hold every intermediate of every block until the step ends (measured: PixelCNN's
    // peak resident memory 3.5 GB against PyTorch's 2.2 GB on the same model and batch).
    (Tensor? Output, Tensor Skip) HorizontalFrom(Tensor conv, Tensor h, Tensor link, Tensor? labels)
    {
        var sum = conv + link;
        conv.Dispose();
        var pre = AddClassBias(sum, horizontal_class_bias, labels);          // (B, 2p, R, W)
        if (!ReferenceEquals(pre, sum)) sum.Dispose();
        var g = Gate(pre);                                                   // (B, p, R, W)
        pre.Dispose();
        Tensor? output = null;
        if (horizontal_out is not null)
        {
            var r = horizontal_out.forward(g);
            if (_first) output = r;
            else { output = h + r; r.Dispose(); }                            // residual (paper Fig. 2)
        }
        var skip = skip_out.forward(g);
        g.Dispose();
        return (output, skip);
    }

    // Gated activation unit, eq. (2): tanh(first half) ⊙ σ(second half).
    static Tensor Gate(Tensor x)
    {
        var parts = x.chunk(2, 1);
        using var t = torch.tanh(parts[0]);
        using var s = torch.sigmoid(parts[1]);
        foreach (var part in parts) part.Dispose();
        return t * s;
    }

    static Tensor AddClassBias(Tensor x, Embedding? bias, Tensor? labels)
    {
        if (bias is null) return x;
        if (labels is null) throw new GenSharpException("this PixelCNN is class-conditional: pass class labels");
        return x + bias.forward(labels).unsqueeze(-1).unsqueeze(-1);   // (B, 2p) → (B, 2p, 1, 1), same bias at every pixel
    }
}
