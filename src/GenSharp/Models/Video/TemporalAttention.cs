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
    /// <remarks>
    /// Every handle, views included (a view keeps its base's memory), is released once this code is done with it, as
    /// Python drops its references: autograd holds what backward needs itself, and a training step's dispose scope
    /// would otherwise keep the norm's output, the token copies and the projection's output of every block to the end
    /// of the step.
    /// </remarks>
    public Tensor Forward(Tensor x, long frames)
    {
        long bt = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], b = bt / frames;
        Tensor seq;                                                                                      // (B·HW, T, C)
        using (var steps = torch.arange(frames, device: x.device))
        using (var position = TimeEmbedding.Sinusoidal(steps, (int)c))                                 // (T, C)
        using (var normed = norm.forward(x))
        using (var grouped = normed.reshape(b, frames, c, h * w))
        using (var perPixel = grouped.permute(0, 3, 1, 2))                                             // (B, HW, T, C)
        using (var tokens = perPixel.reshape(b * h * w, frames, c))
            seq = tokens + position;
        Tensor attended;                                                                                 // (B·HW, heads, T, C/heads)
        using (seq)
        using (var projected = qkv.forward(seq))
        using (var split = projected.reshape(b * h * w, frames, 3, _heads, c / _heads))
        using (var parts = split.permute(2, 0, 3, 1, 4))                                              // (3, B·HW, heads, T, C/heads)
        using (var q = parts[0])
        using (var k = parts[1])
        using (var v = parts[2])
            attended = functional.scaled_dot_product_attention(q, k, v);
        Tensor merged;                                                                                   // (B·HW, T, C)
        using (attended)
        using (var byFrame = attended.permute(0, 2, 1, 3))
        using (var heads = byFrame.reshape(b * h * w, frames, c))
            merged = proj.forward(heads);
        using (merged)
        using (var perClip = merged.reshape(b, h * w, frames, c))
        using (var channelsFirst = perClip.permute(0, 2, 3, 1))
        using (var back = channelsFirst.reshape(bt, c, h, w))                                         // (B·T, C, H, W)
            return x + back;
    }
}
