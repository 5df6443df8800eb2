using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>GPT-2 MLP: C → n_inner → GELU → C. gelu_new is the tanh form (Hendrycks &amp; Gimpel 2016, §2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
internal sealed class Gpt2Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear c_fc;
    private readonly Linear c_proj;
    readonly bool _tanh;

    public Gpt2Mlp(HfModelConfig c) : base(nameof(Gpt2Mlp))
    {
        _tanh = c.TanhGelu;
        c_fc = nn.Linear(c.HiddenSize, c.Intermediate);
        c_proj = nn.Linear(c.Intermediate, c.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = c_fc.forward(x);
        h = _tanh ? 0.5 * h * (1 + ((h + 0.044715 * h.pow(3)) * Math.Sqrt(2 / Math.PI)).tanh()) : h.gelu();
        return c_proj.forward(h);
    }
}
