using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// Multi-head self-attention over the H·W positions of a feature map, residual, with GroupNorm before and a
/// zero-initialised output projection (so a fresh block is the identity). Uses libtorch's fused
/// scaled_dot_product_attention.
/// </summary>
public sealed class AttentionBlock : Module
{
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d proj;
    private readonly int _heads;

    public AttentionBlock(int channels, int heads, int groups) : base(nameof(AttentionBlock))
    {
        _heads = heads;
        norm = DiffusionLayers.Norm(groups, channels);
        qkv = Conv2d(channels, 3 * channels, 1);
        proj = Conv2d(channels, channels, 1);
        RegisterComponents();
        using var _ = torch.no_grad();
        proj.weight!.zero_();
        proj.bias!.zero_();
    }

    /// <summary>(B, C, H, W) → (B, C, H, W).</summary>
    public Tensor Forward(Tensor x)
    {
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var parts = qkv.forward(norm.forward(x))                  // (B, 3C, H, W)
            .reshape(b, 3, _heads, c / _heads, h * w)              // (B, 3, heads, C/heads, HW)
            .permute(1, 0, 2, 4, 3);                               // (3, B, heads, HW, C/heads)
        var attended = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]); // (B, heads, HW, C/heads)
        var merged = attended.permute(0, 1, 3, 2).reshape(b, c, h, w);                        // (B, C, H, W)
        return x + proj.forward(merged);
    }
}
