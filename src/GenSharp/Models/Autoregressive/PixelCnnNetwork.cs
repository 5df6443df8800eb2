using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Autoregressive;

/// <summary>
/// The Gated PixelCNN network: a stack of <see cref="GatedPixelCnnBlock"/>s whose skip outputs are
/// summed and mapped by ReLU → 1×1 conv → ReLU → 1×1 conv to per-pixel logits. The logits at pixel
/// (r, c) depend only on the pixels before it in raster order (rows above, and the pixels left of
/// it in its row).
/// </summary>
public sealed class PixelCnnNetwork : Module<Tensor, Tensor?, Tensor>
{
    // Field names are the checkpoint keys (blocks.3.skip_out.weight, output_hidden.weight, ...).
    private readonly ModuleList<GatedPixelCnnBlock> blocks;
    private readonly Conv2d output_hidden;
    private readonly Conv2d output_logits;

    /// <summary>Logit channels per image channel: 256 for the softmax, 1 for Bernoulli.</summary>
    public int Levels { get; }

    /// <summary>
    /// How far back the logits at (r, c) reach within row r, and how many rows above row r−1 its
    /// links reach: n₁/2 + (L−1)·n/2 for first kernel n₁, kernel n and L blocks.
    /// </summary>
    public int Reach { get; }

    public PixelCnnNetwork(PixelCnnConfig c) : base(nameof(PixelCnnNetwork))
    {
        Reach = c.FirstKernelSize / 2 + (c.Layers - 1) * (c.KernelSize / 2);
        Levels = c.Output == PixelCnnOutput.Softmax256 ? 256 : 1;
        int classes = c.Conditional ? c.NumClasses : 0;
        blocks = new ModuleList<GatedPixelCnnBlock>();
        for (int i = 0; i < c.Layers; i++)
            blocks.Add(new GatedPixelCnnBlock(
                i == 0 ? c.ImageChannels : c.Channels, c.Channels, i == 0 ? c.FirstKernelSize : c.KernelSize,
                first: i == 0, last: i == c.Layers - 1, classes));
        output_hidden = Conv2d(c.Channels, c.OutputHiddenChannels, 1);
        output_logits = Conv2d(c.OutputHiddenChannels, Levels * c.ImageChannels, 1);
        RegisterComponents();
    }

    /// <summary>
    /// Logits for every pixel: (B, Levels·C, H, W) for the network input x (B, C, H, W); channel
    /// k·C + ch holds level k of image channel ch.
    /// </summary>
    public override Tensor forward(Tensor x, Tensor? labels)
    {
        var links = VerticalLinks(x, labels);
        var logits = HorizontalLogits(x, links, labels, releaseLinks: true);
        return logits;
    }

    /// <summary>Each block's vertical→horizontal link for input rows (B, C, R, W): a list of (B, 2p, R, W).</summary>
    public List<Tensor> VerticalLinks(Tensor x, Tensor? labels)
    {
        var links = new List<Tensor>(blocks.Count);
        Tensor? v = x;
        foreach (var block in blocks)
        {
            var (features, output) = block.Vertical(v!, labels);
            links.Add(block.Link(features));
            features.Dispose();                                        // what backward needs, autograd holds itself
            if (!ReferenceEquals(v, x)) v!.Dispose();
            v = output;
        }
        return links;
    }

    /// <summary>
    /// Horizontal stacks and head: logits (B, Levels·C, R, W) for input rows (B, C, R, W) and their links; with
    /// <paramref name="releaseLinks"/> each link's handle is disposed once its block has used it.
    /// </summary>
    public Tensor HorizontalLogits(Tensor x, IReadOnlyList<Tensor> links, Tensor? labels, bool releaseLinks = false)
    {
        Tensor? h = x, skips = null;
        for (int i = 0; i < blocks.Count; i++)
        {
            var (output, skip) = blocks[i].Horizontal(h!, links[i], labels);
            if (releaseLinks) links[i].Dispose();
            if (skips is null) skips = skip;
            else
            {
                var total = skips + skip;
                skips.Dispose();
                skip.Dispose();
                skips = total;
            }
            if (!ReferenceEquals(h, x)) h!.Dispose();
            h = output;
        }
        var logits = Head(skips!);
        skips!.Dispose();
        return logits;
    }

    /// <summary>
    /// The links of row r alone, each (B, 2p, 1, W), computed from a window of rows ending at r:
    /// nothing flows upward through the causal convolutions, and row r's links depend on rows
    /// r−1−<see cref="Reach"/> … r−1 only, so the window [max(0, r−1−Reach), r] gives the full image's
    /// values. Row r itself does not reach its links (they are shifted down), so it may be unsampled.
    /// </summary>
    public List<Tensor> RowLinks(Tensor x, long r, Tensor? labels)
    {
        long top = Math.Max(0, r - 1 - Reach);
        return VerticalLinks(x.narrow(2, top, r - top + 1), labels).Select(l => l.narrow(2, r - top, 1)).ToList();
    }

    /// <summary>The gated blocks, first to last (a fresh array).</summary>
    public GatedPixelCnnBlock[] Blocks => blocks.ToArray();

    /// <summary>Output head: summed skips (B, p, R, W) → logits (B, Levels·C, R, W).</summary>
    public Tensor Head(Tensor skips)
    {
        // Each ReLU runs in the layout of the convolution after it (channels-last when that one is off the block, as a
        // one-logit Bernoulli output is), so no backward meets a gradient of the other layout.
        using var input = ConvolutionLayout.InputLayoutOf(output_hidden, skips.alias());
        using var a = relu(input);
        using var hidden = ConvolutionLayout.InputLayoutOf(output_logits, output_hidden.forward(a));
        using var b = relu(hidden);
        return output_logits.forward(b);
    }
}
