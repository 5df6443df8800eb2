using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>GPT-2 pre-LayerNorm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)).</summary>
internal sealed class Gpt2Block : nn.Module
{
    private readonly LayerNorm ln_1;
    private readonly Gpt2Attention attn;
    private readonly LayerNorm ln_2;
    private readonly Gpt2Mlp mlp;

    public Gpt2Block(HfModelConfig c, int layer) : base(nameof(Gpt2Block))
    {
        ln_1 = nn.LayerNorm(c.HiddenSize, c.NormEps);
        attn = new Gpt2Attention(c, layer);
        ln_2 = nn.LayerNorm(c.HiddenSize, c.NormEps);
        mlp = new Gpt2Mlp(c);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, KvCache? cache)
    {
        x = x + attn.Forward(ln_1.forward(x), cache);
        return x + mlp.forward(ln_2.forward(x));
    }
}
