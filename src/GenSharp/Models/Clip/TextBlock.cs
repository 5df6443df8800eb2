using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Clip;

/// <summary>
/// A pre-LayerNorm transformer block with causal self-attention (x + attn(ln_1(x)), then x + mlp(ln_2(x))), as in
/// CLIP's text encoder. Keys: <c>ln_1.*</c>, <c>attn.qkv.*</c>, <c>attn.proj.*</c> (as <c>qkv.*</c>, <c>proj.*</c>),
/// <c>ln_2.*</c>, <c>fc.*</c>, <c>out.*</c>.
/// </summary>
public sealed class TextBlock : Module
{
    private readonly LayerNorm ln_1;
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly LayerNorm ln_2;
    private readonly Linear fc;
    private readonly Linear @out;
    private readonly int _heads;

    public TextBlock(int width, int heads) : base(nameof(TextBlock))
    {
        _heads = heads;
        ln_1 = LayerNorm(width);
        qkv = Linear(width, 3 * width);
        proj = Linear(width, width);
        ln_2 = LayerNorm(width);
        fc = Linear(width, 4 * width);
        @out = Linear(4 * width, width);
        RegisterComponents();
    }

    /// <summary>(B, L, W) → (B, L, W); position i attends to positions ≤ i.</summary>
    public Tensor Forward(Tensor x)
    {
        long b = x.shape[0], l = x.shape[1], w = x.shape[2], hd = w / _heads;
        var h = qkv.forward(ln_1.forward(x)).view(b, l, 3, _heads, hd).permute(2, 0, 3, 1, 4);   // (3, B, heads, L, hd)
        var y = functional.scaled_dot_product_attention(h[0], h[1], h[2], null, 0.0, true);        // (B, heads, L, hd)
        x = x + proj.forward(y.transpose(1, 2).reshape(b, l, w));
        return x + @out.forward(functional.gelu(fc.forward(ln_2.forward(x))));
    }
}
