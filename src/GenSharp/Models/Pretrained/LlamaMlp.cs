using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>SwiGLU MLP (Shazeer 2020, Eq. 6): down(silu(gate(x)) ⊙ up(x)).</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear gate_proj;
    private readonly Linear up_proj;
    private readonly Linear down_proj;

    public LlamaMlp(HfModelConfig c) : base(nameof(LlamaMlp))
    {
        gate_proj = nn.Linear(c.HiddenSize, c.Intermediate, hasBias: c.MlpBias);
        up_proj = nn.Linear(c.HiddenSize, c.Intermediate, hasBias: c.MlpBias);
        down_proj = nn.Linear(c.Intermediate, c.HiddenSize, hasBias: c.MlpBias);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.forward(nn.functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}
