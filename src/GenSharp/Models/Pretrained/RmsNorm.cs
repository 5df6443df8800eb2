using TorchSharp.Modules;

namespace GenSharp.Models.Pretrained;

/// <summary>RMSNorm (Zhang &amp; Sennrich 2019, Eq. 4): x / √(mean(x²) + ε) · g over the last dimension, no bias, no centring.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>, Gpt.IScriptableNorm
{
    private readonly Parameter weight;
    readonly double _eps;

    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = new Parameter(torch.ones(dim));
        RegisterComponents();
    }

    Gpt.NormWeights Gpt.IScriptableNorm.Weights => new(weight, null, _eps, Rms: true);

    public override Tensor forward(Tensor x) => x * (x.pow(2).mean(new long[] { -1 }, keepdim: true) + _eps).rsqrt() * weight;
}
