using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// A learned per-channel affine map y = x·exp(log_scale) + bias, log|det| = H·W·Σ log_scale: the
/// batch-independent alternative to <see cref="BatchNormFlow"/> (RealNVP's <c>norm = actnorm</c>).
/// Unlike Glow's actnorm it has no data-dependent initialisation: it starts as the identity and is
/// learned like any other parameter, so it behaves the same in training and evaluation.
/// </summary>
public sealed class RealNvpActNorm : FlowLayer
{
    private readonly Parameter log_scale;
    private readonly Parameter bias;

    public RealNvpActNorm(long channels) : base(nameof(RealNvpActNorm))
    {
        log_scale = new Parameter(torch.zeros(1, channels, 1, 1));
        bias = new Parameter(torch.zeros(1, channels, 1, 1));
        RegisterComponents();
    }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        var logDet = log_scale.sum() * (x.shape[2] * x.shape[3]);
        return (x * log_scale.exp() + bias, logDet.expand(x.shape[0]).contiguous());
    }

    public override Tensor Inverse(Tensor y) => (y - bias) * (-log_scale).exp();
}
