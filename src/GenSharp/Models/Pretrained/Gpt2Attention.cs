using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>GPT-2 multi-head causal attention: <c>c_attn</c> makes q, k, v in one matrix, <c>c_proj</c> mixes the heads.</summary>
internal sealed class Gpt2Attention : nn.Module
{
    private readonly Linear c_attn;
    private readonly Linear c_proj;
    readonly int _heads, _layer;

    public Gpt2Attention(HfModelConfig c, int layer) : base(nameof(Gpt2Attention))
    {
        _heads = c.Heads;
        _layer = layer;
        c_attn = nn.Linear(c.HiddenSize, 3 * c.HiddenSize);
        c_proj = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, KvCache? cache)
    {
        long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / _heads;
        var qkv = c_attn.forward(x).split(c, 2);                               // 3 × (B, T, C)
        var q = qkv[0].view(b, t, _heads, d).transpose(1, 2);                  // (B, H, T, D)
        var k = qkv[1].view(b, t, _heads, d).transpose(1, 2);
        var v = qkv[2].view(b, t, _heads, d).transpose(1, 2);
        int past = cache?.Length ?? 0;
        if (cache is not null) (k, v) = cache.Append(_layer, k, v);           // (B, H, past + T, D)
        var y = CausalAttention.Attend(q, k, v, past);                         // (B, H, T, D)
        return c_proj.forward(y.transpose(1, 2).contiguous().view(b, t, c));   // (B, T, C)
    }
}
