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
    public Tensor Forward(Tensor x, Tensor emb)
    {
        var h = conv1.forward(functional.silu(norm1.forward(x)));                      // (B, Cout, H, W)
        h = h + time_proj.forward(functional.silu(emb)).unsqueeze(-1).unsqueeze(-1);   // + (B, Cout, 1, 1)
        h = conv2.forward(dropout.forward(functional.silu(norm2.forward(h))));
        return (skip is null ? x : skip.forward(x)) + h;
    }
}
