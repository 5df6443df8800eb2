using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>LayerNorm over the last dimension with an optional bias (nanoGPT drops it when bias = false).</summary>
public sealed class GptLayerNorm : nn.Module<Tensor, Tensor>, IScriptableNorm
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    readonly long _dim;
    readonly double _eps;

    public GptLayerNorm(long dim, bool hasBias, double eps = 1e-5) : base(nameof(GptLayerNorm))
    {
        _dim = dim;
        _eps = eps;
        weight = new Parameter(torch.ones(dim));
        if (hasBias) bias = new Parameter(torch.zeros(dim));
        RegisterComponents();
    }

    NormWeights IScriptableNorm.Weights => new(weight, bias, _eps, Rms: false);

    public override Tensor forward(Tensor x) => nn.functional.layer_norm(x, new[] { _dim }, weight, bias, _eps);
}
