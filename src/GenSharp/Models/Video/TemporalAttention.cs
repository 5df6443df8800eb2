using GenSharp.Models.Diffusion;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Video;

/// <summary>
/// Self-attention across the frames of a clip at every spatial position (the temporal half of a factorised
/// space-time block; Ho et al. 2022, "Video Diffusion Models", §3): GroupNorm per frame, sinusoidal frame-position
/// features added to the queries' and keys' input, multi-head attention over T, and a zero-initialised output
/// projection so a fresh block is the identity and the network starts as a per-frame image denoiser.
/// </summary>
public sealed class TemporalAttention : Module
{
    // Field names are the checkpoint keys.
    private readonly GroupNorm norm;
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int _heads;

    public TemporalAttention(int channels, int heads, int groups) : base(nameof(TemporalAttention))
    {
        _heads = heads;
        norm = DiffusionLayers.Norm(groups, channels);
        qkv = Linear(channels, 3 * channels);
        proj = Linear(channels, channels);
        RegisterComponents();
        using var _ = torch.no_grad();
        proj.weight!.zero_();
        proj.bias!.zero_();
    }

    /// <summary>x (B·T, C, H, W), frames T (frame-major within a clip) → (B·T, C, H, W).</summary>
    public Tensor Forward(Tensor x, long frames)
    {
        long bt = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], b = bt / frames;
        var position = TimeEmbedding.Sinusoidal(torch.arange(frames, device: x.device), (int)c);        // (T, C)
        var seq = norm.forward(x).reshape(b, frames, c, h * w).permute(0, 3, 1, 2)                      // (B, HW, T, C)
            .reshape(b * h * w, frames, c) + position;                                                  // (B·HW, T, C)
        var parts = qkv.forward(seq).reshape(b * h * w, frames, 3, _heads, c / _heads)
            .permute(2, 0, 3, 1, 4);                                                                     // (3, B·HW, heads, T, C/heads)
        var attended = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);            // (B·HW, heads, T, C/heads)
        var merged = proj.forward(attended.permute(0, 2, 1, 3).reshape(b * h * w, frames, c));          // (B·HW, T, C)
        var back = merged.reshape(b, h * w, frames, c).permute(0, 2, 3, 1).reshape(bt, c, h, w);        // (B·T, C, H, W)
        return x + back;
    }
}
