using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)), with RMSNorm.</summary>
internal sealed class LlamaDecoderLayer : nn.Module
{
    private readonly LlamaAttention self_attn;
    private readonly LlamaMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;

    public LlamaDecoderLayer(HfModelConfig c, int layer) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(c, layer);
        mlp = new LlamaMlp(c);
        input_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    /// <summary>x (B, T, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache? cache)
    {
        x = x + self_attn.Forward(input_layernorm.forward(x), cos, sin, cache);
        return x + mlp.forward(post_attention_layernorm.forward(x));
    }
}
