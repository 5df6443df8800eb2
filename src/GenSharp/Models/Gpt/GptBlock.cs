using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>Pre-LayerNorm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
public sealed class GptBlock : nn.Module
{
    private readonly GptLayerNorm ln_1;
    private readonly CausalSelfAttention attn;
    private readonly GptLayerNorm ln_2;
    private readonly GptMlp mlp;

    public GptBlock(GptConfig c, int layer) : base(nameof(GptBlock))
    {
        ln_1 = new GptLayerNorm(c.NEmbd, c.Bias);
        attn = new CausalSelfAttention(c, layer);
        ln_2 = new GptLayerNorm(c.NEmbd, c.Bias);
        mlp = new GptMlp(c);
        RegisterComponents();
    }

    public CausalSelfAttention Attention => attn;
    public GptMlp Mlp => mlp;

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, KvCache? cache)
    {
        x = x + attn.Forward(ln_1.forward(x), cache);
        return x + mlp.forward(ln_2.forward(x));
    }
}
