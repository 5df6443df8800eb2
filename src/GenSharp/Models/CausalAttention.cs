using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// Causal scaled-dot-product attention (Vaswani et al. 2017, Eq. 1) of new queries over cached + new keys, through
/// libtorch's fused kernel; shared by GenSharp's gpt and the pretrained gpt2/llama networks.
/// </summary>
internal static class CausalAttention
{
    /// <summary>
    /// q (B, H, T, D) at positions past … past + T − 1; k, v (B, H, past + T, D) → (B, H, T, D); attention weights
    /// dropped with probability <paramref name="dropout"/> (training only).
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int past, double dropout = 0.0)
    {
        long t = q.shape[2];
        if (past == 0) return nn.functional.scaled_dot_product_attention(q, k, v, null, dropout, t > 1);   // query i sees keys ≤ i
        if (t == 1) return nn.functional.scaled_dot_product_attention(q, k, v, null, dropout, false);      // the newest token sees all
        // libtorch's is_causal aligns the mask top-left; with cached keys query i sits at position past + i.
        using var rows = torch.arange(past, past + t, device: q.device).unsqueeze(1);    // (T, 1)
        using var cols = torch.arange(past + t, device: q.device).unsqueeze(0);          // (1, past + T)
        using var mask = cols.le(rows);                                                   // (T, past + T) bool
        return nn.functional.scaled_dot_product_attention(q, k, v, mask, dropout, false);
    }
}
