using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>Residual MLP block for vector latents: LayerNorm → SiLU → linear, + time projection, LayerNorm → SiLU → dropout → linear.</summary>
public sealed class LatentResBlock : Module
{
    private readonly LayerNorm norm1;
    private readonly Linear fc1;
    private readonly Linear time_proj;
    private readonly LayerNorm norm2;
    private readonly Dropout dropout;
    private readonly Linear fc2;

    public LatentResBlock(int width, int embedDim, double dropoutP) : base(nameof(LatentResBlock))
    {
        norm1 = LayerNorm(width);
        fc1 = Linear(width, width);
        time_proj = Linear(embedDim, width);
        norm2 = LayerNorm(width);
        dropout = Dropout(dropoutP);
        fc2 = Linear(width, width);
        RegisterComponents();
    }

    /// <summary>h (B, W), emb (B, E) → (B, W).</summary>
    public Tensor Forward(Tensor h, Tensor emb)
    {
        var r = fc1.forward(functional.silu(norm1.forward(h))) + time_proj.forward(functional.silu(emb));
        r = fc2.forward(dropout.forward(functional.silu(norm2.forward(r))));
        return h + r;
    }
}
