using GenSharp.Models.Pretrained;
using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// Multi-head causal self-attention (Vaswani et al. 2017, Eq. 1) through libtorch's fused scaled_dot_product_attention,
/// for GPT and the Llama family (llama, qwen2, mistral). Two checkpoint layouts, chosen by the factory:
/// <see cref="Fused"/> is GPT-2's <c>c_attn</c> (q, k, v in one matrix) and <c>c_proj</c>; <see cref="Grouped"/> is
/// Llama's <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c> with optional biases and grouped-query attention
/// (Ainslie et al. 2023): H query heads share Hkv key/value heads, and the KV cache holds only the Hkv heads.
/// Rotary positions (Su et al. 2021) are applied to q and k when the caller passes their tables.
/// </summary>
public sealed class CausalSelfAttention : nn.Module, IProjectionHost
{
    // Projections (dense Linear layers, or modules put in their place through IProjectionHost.Replace)
    nn.Module<Tensor, Tensor>? _qkv;              // Fused: c_attn, C → 3·H·D
    nn.Module<Tensor, Tensor>? _q, _k, _v;        // Grouped: q_proj C → H·D, k_proj and v_proj C → Hkv·D
    nn.Module<Tensor, Tensor> _out;               // c_proj / o_proj, H·D → C
    readonly Dropout _residDropout;
    readonly int _heads, _kvHeads, _headDim, _layer;
    readonly double _dropout;

    CausalSelfAttention(int heads, int kvHeads, int headDim, int layer, double dropout,
        Linear? qkv, Linear? q, Linear? k, Linear? v, Linear output) : base(nameof(CausalSelfAttention))
    {
        (_heads, _kvHeads, _headDim, _layer, _dropout) = (heads, kvHeads, headDim, layer, dropout);
        (_qkv, _q, _k, _v, _out) = (qkv, q, k, v, output);
        _residDropout = nn.Dropout(dropout);
        // The names are the checkpoint keys of each layout (GPT-2 / Hugging Face Llama).
        if (qkv is not null)
        {
            register_module("c_attn", qkv);
            register_module("c_proj", output);
        }
        else
        {
            register_module("q_proj", q!);
            register_module("k_proj", k!);
            register_module("v_proj", v!);
            register_module("o_proj", output);
        }
        register_module("resid_dropout", _residDropout);
    }

    // Registered by name in the constructor; TorchSharp's field-name registration (run lazily too) would add the fields again.
    protected override void RegisterComponents() { }

    /// <summary>The projections and head layout, for the scripted decoder (which decides whether it can run them).</summary>
    internal AttentionWeights ScriptParts() =>
        _qkv is not null ? new(_qkv, null, null, _out, _heads, _kvHeads, _headDim) : new(_q!, _k, _v, _out, _heads, _kvHeads, _headDim);

    public IEnumerable<(string Name, nn.Module<Tensor, Tensor> Projection)> Projections =>
        _qkv is not null
            ? new[] { ("c_attn", _qkv), ("c_proj", _out) }
            : new[] { ("q_proj", _q!), ("k_proj", _k!), ("v_proj", _v!), ("o_proj", _out) };

    public void Replace(string name, nn.Module<Tensor, Tensor> projection)
    {
        switch (name)
        {
            case "c_attn" when _qkv is not null: _qkv = projection; break;
            case "c_proj" when _qkv is not null: _out = projection; break;
            case "q_proj" when _q is not null: _q = projection; break;
            case "k_proj" when _k is not null: _k = projection; break;
            case "v_proj" when _v is not null: _v = projection; break;
            case "o_proj" when _qkv is null: _out = projection; break;
            default: throw new ArgumentException($"this attention has no projection {name} (it has {string.Join(", ", Projections.Select(p => p.Name))})", nameof(name));
        }
        _internal_submodules[name] = projection;
    }

    /// <summary>GPT-2 layout: <c>c_attn</c> makes q, k, v of <paramref name="heads"/> heads in one matrix, <c>c_proj</c> mixes the heads.</summary>
    /// <param name="width">Residual width C (a multiple of <paramref name="heads"/>).</param>
    /// <param name="heads">Attention heads H; each is C/H wide.</param>
    /// <param name="bias">Biases in c_attn and c_proj.</param>
    /// <param name="dropout">Probability of dropping attention weights and the residual output while training.</param>
    /// <param name="layer">This block's slot in the KV cache.</param>
    public static CausalSelfAttention Fused(int width, int heads, bool bias, double dropout, int layer) =>
        new(heads, heads, width / heads, layer, dropout,
            DeferredWeights.Projection(width, 3 * width, bias: bias), null, null, null, DeferredWeights.Projection(width, width, bias: bias));

    /// <summary>Llama layout: separate q/k/v/o projections, <paramref name="kvHeads"/> key/value heads (dividing <paramref name="heads"/>) of width <paramref name="headDim"/>.</summary>
    public static CausalSelfAttention Grouped(int width, int heads, int kvHeads, int headDim, bool qkvBias, bool outputBias, int layer) =>
        new(heads, kvHeads, headDim, layer, 0.0, null,
            DeferredWeights.Projection(width, heads * headDim, bias: qkvBias),
            DeferredWeights.Projection(width, kvHeads * headDim, bias: qkvBias),
            DeferredWeights.Projection(width, kvHeads * headDim, bias: qkvBias),
            DeferredWeights.Projection(heads * headDim, width, bias: outputBias));

    /// <summary>
    /// x (B, T, C) → (B, T, C). With a cache, x continues the cached tokens and its keys/values are appended;
    /// with <paramref name="rotary"/> tables for the tokens' positions ((T, D), or (B, 1, T, D) when rows sit at
    /// different positions), q and k are rotated first.
    /// </summary>
    public Tensor Forward(Tensor x, IKvCache? cache, (Tensor Cos, Tensor Sin)? rotary = null)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor q, k, v;
        if (_qkv is not null)
        {
            var qkv = Projection.Forward(_qkv, x).split(_heads * _headDim, 2);                   // 3 × (B, T, H·D)
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        }
        else
        {
            var qkv = Projection.Joined(x, _q!, _k!, _v!);                                   // (B, T, H·D), 2 × (B, T, Hkv·D)
            (q, k, v) = (qkv[0], qkv[1], qkv[2]);
        }
        q = q.view(b, t, _heads, _headDim).transpose(1, 2);                          // (B, H, T, D)
        k = k.view(b, t, _kvHeads, _headDim).transpose(1, 2);                        // (B, Hkv, T, D)
        v = v.view(b, t, _kvHeads, _headDim).transpose(1, 2);
        if (rotary is var (cos, sin))
        {
            q = RotaryEmbedding.Apply(q, cos, sin);
            k = RotaryEmbedding.Apply(k, cos, sin);
        }
        Tensor? mask = null;
        if (cache is not null) (k, v, mask) = cache.Append(_layer, k, v);           // (B, Hkv, L, D), L = past + T
        double dropout = training ? _dropout : 0.0;
        Tensor y;
        if (_kvHeads != _heads && t == 1)
        {
            // Decoding one token: the G = H/Hkv query heads that share a kv head attend as G queries of that head, so the
            // cached keys and values are read in place instead of copied G times (a row's mask applies to all G alike).
            int g = _heads / _kvHeads;
            var grouped = q.view(b, _kvHeads, g, _headDim);                                  // (B, Hkv, G, D)
            y = nn.functional.scaled_dot_product_attention(grouped, k, v, mask, dropout, false).view(b, _heads, 1, _headDim);
        }
        else
        {
            if (_kvHeads != _heads)
            {
                // Query head h reads kv head h / (H/Hkv): each kv head repeated in place, as HF's repeat_kv
                // (TorchSharp 0.107's scaled_dot_product_attention has no enable_gqa).
                k = k.repeat_interleave(_heads / _kvHeads, 1);                      // (B, H, past + T, D)
                v = v.repeat_interleave(_heads / _kvHeads, 1);
            }
            y = Attend(q, k, v, mask, dropout);
        }
        y = y.transpose(1, 2).contiguous().view(b, t, _heads * _headDim);           // (B, T, H·D)
        return _residDropout.forward(Projection.Forward(_out, y));                               // (B, T, C)
    }

    /// <summary>Attention of q (B, H, T, D) over k, v (B, H, L, D): with the cache's per-row mask, else causal with the T queries last.</summary>
    static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropout) =>
        mask is null
            ? Attend(q, k, v, (int)(k.shape[2] - q.shape[2]), dropout)                                 // (B, H, T, D)
            : nn.functional.scaled_dot_product_attention(q, k, v, mask, dropout, false);              // rows at their own positions

    /// <summary>
    /// softmax(q·kᵀ/√D)·v (Vaswani et al. 2017, Eq. 1) with a causal mask: q (B, H, T, D) at positions past … past + T − 1;
    /// k, v (B, H, past + T, D) → (B, H, T, D); attention weights dropped with probability <paramref name="dropout"/>.
    /// </summary>
    static Tensor Attend(Tensor q, Tensor k, Tensor v, int past, double dropout)
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
