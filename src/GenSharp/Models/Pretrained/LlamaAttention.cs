using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// Grouped-query attention (Ainslie et al. 2023): H query heads share Hkv key/value heads, H/Hkv queries per
/// group; rotary positions on q and k. The KV cache holds the Hkv heads; they are repeated to H only for the
/// kernel (TorchSharp 0.107's scaled_dot_product_attention has no enable_gqa).
/// </summary>
internal sealed class LlamaAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear o_proj;
    readonly int _heads, _kvHeads, _headDim, _layer;

    public LlamaAttention(HfModelConfig c, int layer) : base(nameof(LlamaAttention))
    {
        _heads = c.Heads;
        _kvHeads = c.KvHeads;
        _headDim = c.HeadDim;
        _layer = layer;
        q_proj = nn.Linear(c.HiddenSize, c.Heads * c.HeadDim, hasBias: c.QkvBias);
        k_proj = nn.Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: c.QkvBias);
        v_proj = nn.Linear(c.HiddenSize, c.KvHeads * c.HeadDim, hasBias: c.QkvBias);
        o_proj = nn.Linear(c.Heads * c.HeadDim, c.HiddenSize, hasBias: c.OutputBias);
        RegisterComponents();
    }

    /// <summary>x (B, T, C) → (B, T, C); cos/sin (T, D) for the tokens' positions.</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache? cache)
    {
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);       // (B, H, T, D)
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);     // (B, Hkv, T, D)
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        int past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(_layer, k, v);                  // (B, Hkv, past + T, D)
        if (_kvHeads != _heads)
        {
            // Query head h reads kv head h / (H/Hkv): each kv head repeated in place, as HF's repeat_kv.
            k = k.repeat_interleave(_heads / _kvHeads, 1);                           // (B, H, past + T, D)
            v = v.repeat_interleave(_heads / _kvHeads, 1);
        }
        var y = CausalAttention.Attend(q, k, v, past);                               // (B, H, T, D)
        y = y.transpose(1, 2).contiguous().view(b, t, _heads * _headDim);           // (B, T, H·D)
        return o_proj.forward(y);
    }
}
