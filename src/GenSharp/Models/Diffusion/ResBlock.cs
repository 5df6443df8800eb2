using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// UNet residual block (Ho et al. 2020, appendix B): GroupNorm → SiLU → 3×3 conv, plus a projection of the
/// time embedding added per channel, then GroupNorm → SiLU → dropout → 3×3 conv; a 1×1 conv on the skip
/// path when the width changes.
/// </summary>
public sealed class ResBlock : Module
{
    // Field names are the checkpoint keys.
    private readonly GroupNorm norm1;
    private readonly Conv2d conv1;
    private readonly Linear time_proj;
    private readonly GroupNorm norm2;
    private readonly Dropout dropout;
    private readonly Conv2d conv2;
    private readonly Conv2d? skip;

    public ResBlock(int inChannels, int outChannels, int embedDim, int groups, double dropoutP) : base(nameof(ResBlock))
    {
        norm1 = DiffusionLayers.Norm(groups, inChannels);
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        time_proj = Linear(embedDim, outChannels);
        norm2 = DiffusionLayers.Norm(groups, outChannels);
        dropout = Dropout(dropoutP);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) skip = Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>x (B, Cin, H, W), emb (B, E) → (B, Cout, H, W).</summary>
    /// <remarks>
    /// Every intermediate handle is released once this code is done with it, as Python drops its references: autograd
    /// holds what backward needs itself, and a training step's dispose scope would otherwise keep the convolutions'
    /// outputs (which no backward formula saves) of every block until the step ends.
    /// </remarks>
    public Tensor Forward(Tensor x, Tensor emb)
    {
        Tensor h, c1;
        using (var n1 = norm1.forward(x))
        using (var a1 = functional.silu(n1))
            c1 = conv1.forward(a1);                                                     // (B, Cout, H, W)
        using (var e = functional.silu(emb))
        using (var t = time_proj.forward(e))
        using (var t3 = t.unsqueeze(-1))
        using (var t4 = t3.unsqueeze(-1))                                               // (B, Cout, 1, 1)
        using (c1)
            h = c1 + t4;
        Tensor h2;
        using (h)
        using (var n2 = norm2.forward(h))
        using (var a2 = functional.silu(n2))
        {
            var d = dropout.forward(a2);
            h2 = conv2.forward(d);
            if (!ReferenceEquals(d, a2)) d.Dispose();
        }
        using (h2)
        {
            if (skip is null) return x + h2;
            using var s = ConvolutionLayout.Pointwise(skip, x);                         // a product when channels-last
            return s + h2;
        }
    }
}
