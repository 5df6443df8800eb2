using GenSharp.Models;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.TextDiffusion;

/// <summary>
/// Cross-attention from a vector latent's hidden state to a prompt's token states (Rombach et al. 2022, eq. 3:
/// softmax(QKᵀ/√d)·V with Q from the image side and K, V from the text encoder). The hidden state h (B, W) is
/// normalised and projected to <c>query_tokens</c> queries, which attend over the prompt's tokens (padding masked);
/// the result is projected back and added to h. The output projection starts at zero, so a fresh block is the identity.
/// Keys: <c>norm.*</c>, <c>to_q.*</c>, <c>to_k.*</c>, <c>to_v.*</c>, <c>to_out.*</c>.
/// </summary>
public sealed class LatentCrossAttention : Module
{
    private readonly LayerNorm norm;
    private readonly Linear to_q;
    private readonly Linear to_k;
    private readonly Linear to_v;
    private readonly Linear to_out;
    private readonly int _tokens, _width, _heads;

    public LatentCrossAttention(int hidden, int textWidth, int tokens, int width, int heads) : base(nameof(LatentCrossAttention))
    {
        _tokens = tokens; _width = width; _heads = heads;
        norm = LayerNorm(hidden);
        to_q = Linear(hidden, tokens * width);
        to_k = Linear(textWidth, width, hasBias: false);
        to_v = Linear(textWidth, width, hasBias: false);
        to_out = ModuleInit.Zeroed(Linear(tokens * width, hidden));
        RegisterComponents();
    }

    /// <summary>h (B, W), text states (B, L, Wt), mask (B, L) true where a token is → (B, W).</summary>
    public Tensor Forward(Tensor h, Tensor text, Tensor mask)
    {
        long b = h.shape[0], l = text.shape[1], d = _width / _heads;
        var q = to_q.forward(norm.forward(h)).view(b, _tokens, _heads, d).transpose(1, 2);   // (B, heads, K, d)
        var k = to_k.forward(text).view(b, l, _heads, d).transpose(1, 2);                     // (B, heads, L, d)
        var v = to_v.forward(text).view(b, l, _heads, d).transpose(1, 2);                     // (B, heads, L, d)
        // Additive mask: padding positions get −∞ (−1e9) before the softmax.
        var bias = ((1 - mask.to(q.dtype)) * -1e9).view(b, 1, 1, l);                           // (B, 1, 1, L)
        var y = functional.scaled_dot_product_attention(q, k, v, bias, 0.0, false);           // (B, heads, K, d)
        return h + to_out.forward(y.transpose(1, 2).reshape(b, _tokens * _width));
    }
}
