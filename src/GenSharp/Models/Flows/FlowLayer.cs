namespace GenSharp.Models.Flows;

/// <summary>
/// One invertible step of a normalizing flow: y = f(x) with the log-absolute-determinant of its
/// Jacobian per item, and x = f⁻¹(y). Shapes are images (B,C,H,W) unless a layer says otherwise.
/// The change of variables gives log p(x) = log p(y) + log|det ∂f/∂x|, summed over the layers.
/// </summary>
public abstract class FlowLayer : nn.Module
{
    protected FlowLayer(string name) : base(name) { }

    /// <summary>y = f(x) and log|det ∂y/∂x| per item, shape (B).</summary>
    public abstract (Tensor Y, Tensor LogDet) Forward(Tensor x);

    /// <summary>x = f⁻¹(y).</summary>
    public abstract Tensor Inverse(Tensor y);
}

/// <summary>
/// Space-to-depth: every 2×2 block of pixels becomes four channels, (B,C,H,W) → (B,4C,H/2,W/2).
/// A permutation of the entries, so its log-determinant is 0. Channel 4c + 2i + j of the output
/// holds input channel c at offset (i, j) inside the block.
/// </summary>
public sealed class Squeeze : FlowLayer
{
    public Squeeze() : base(nameof(Squeeze)) { }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (h % 2 != 0 || w % 2 != 0)
            throw new GenSharpException($"squeeze needs even height and width, got {h}×{w}; use an image size divisible by 2 per scale");
        var y = x.reshape(b, c, h / 2, 2, w / 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h / 2, w / 2);
        return (y, torch.zeros(b, dtype: x.dtype, device: x.device));
    }

    public override Tensor Inverse(Tensor y)
    {
        long b = y.shape[0], c = y.shape[1] / 4, h = y.shape[2], w = y.shape[3];
        return y.reshape(b, c, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(b, c, h * 2, w * 2);
    }
}
