using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>
/// Multi-head causal self-attention (Vaswani et al. 2017, Eq. 1) through libtorch's fused
/// scaled_dot_product_attention. Tensor names follow GPT-2: <c>c_attn</c> (q, k, v in one matrix), <c>c_proj</c>.
/// </summary>
public sealed class CausalSelfAttention : nn.Module
{
    private readonly Linear c_attn;
    private readonly Linear c_proj;
    private readonly Dropout resid_dropout;
    readonly int _heads;
    readonly int _layer;
    readonly double _dropout;

    public CausalSelfAttention(GptConfig c, int layer) : base(nameof(CausalSelfAttention))
    {
        _heads = c.NHead;
        _layer = layer;
        _dropout = c.Dropout;
        c_attn = nn.Linear(c.NEmbd, 3 * c.NEmbd, hasBias: c.Bias);
        c_proj = nn.Linear(c.NEmbd, c.NEmbd, hasBias: c.Bias);
        resid_dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    /// <summary>The output projection (its init is scaled by 1/√(2·n_layer), GPT-2 §2.3).</summary>
    public Linear OutputProjection => c_proj;

    /// <summary>x (B, T, C) → (B, T, C); with a cache, x continues the cached tokens.</summary>
    public Tensor Forward(Tensor x, KvCache? cache)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / _heads;
        var qkv = c_attn.forward(x).split(c, 2);                               // 3 × (B, T, C)
        var q = qkv[0].view(b, t, _heads, d).transpose(1, 2);                  // (B, H, T, D)
        var k = qkv[1].view(b, t, _heads, d).transpose(1, 2);
        var v = qkv[2].view(b, t, _heads, d).transpose(1, 2);
        int past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(_layer, k, v);           // (B, H, past + T, D)
        var y = CausalAttention.Attend(q, k, v, past, training ? _dropout : 0.0);   // (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(b, t, c);                     // (B, T, C)
        return resid_dropout.forward(c_proj.forward(y));
    }
}
