using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>Position-wise MLP: C → 4C → GELU → C → dropout (names <c>c_fc</c>, <c>c_proj</c> as in GPT-2).</summary>
public sealed class GptMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear c_fc;
    private readonly Linear c_proj;
    private readonly Dropout dropout;

    public GptMlp(GptConfig c) : base(nameof(GptMlp))
    {
        c_fc = nn.Linear(c.NEmbd, 4 * c.NEmbd, hasBias: c.Bias);
        c_proj = nn.Linear(4 * c.NEmbd, c.NEmbd, hasBias: c.Bias);
        dropout = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    /// <summary>The output projection (its init is scaled by 1/√(2·n_layer)).</summary>
    public Linear OutputProjection => c_proj;

    public override Tensor forward(Tensor x) => dropout.forward(c_proj.forward(c_fc.forward(x).gelu()));
}
