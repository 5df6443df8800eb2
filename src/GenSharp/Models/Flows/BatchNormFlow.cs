using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Batch normalisation as an invertible layer (Dinh et al. 2017, §3.7, eq. 17):
/// y = (x − μ)/√(σ² + ε)·γ + β per channel, log|det| = H·W·Σ_c (log γ_c − ½ log(σ_c² + ε)).
/// In training μ, σ² are the batch's (biased) statistics, gradients flow through them, and the
/// running averages move toward them with <c>momentum</c>; in eval mode, and always in
/// <see cref="Inverse"/>, the running averages are used, so the layer is then a fixed per-channel affine
/// map. γ = exp(log_gamma) keeps the map invertible. Checkpoint names: log_gamma, beta, running_mean, running_var.
/// </summary>
public sealed class BatchNormFlow : FlowLayer
{
    private readonly Parameter log_gamma;
    private readonly Parameter beta;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    readonly double _momentum, _eps;

    /// <param name="channels">Channels C.</param>
    /// <param name="momentum">Weight of the new batch in the running averages: r ← (1 − m)·r + m·batch.</param>
    /// <param name="eps">Added to the variance.</param>
    public BatchNormFlow(long channels, double momentum = 0.05, double eps = 1e-4) : base(nameof(BatchNormFlow))
    {
        _momentum = momentum;
        _eps = eps;
        log_gamma = new Parameter(torch.zeros(channels));
        beta = new Parameter(torch.zeros(channels));
        running_mean = torch.zeros(channels);
        running_var = torch.ones(channels);
        RegisterComponents();
    }

    /// <summary>Running mean (C); updated in place in training.</summary>
    public Tensor RunningMean => running_mean;
    /// <summary>Running (biased) variance (C); updated in place in training.</summary>
    public Tensor RunningVar => running_var;
    /// <summary>log γ (C).</summary>
    public Parameter LogGamma => log_gamma;
    /// <summary>β (C).</summary>
    public Parameter Beta => beta;

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        Tensor mean, variance;
        if (training)
        {
            var dims = new long[] { 0, 2, 3 };
            mean = x.mean(dims);                                            // (C)
            variance = (x - mean.reshape(1, -1, 1, 1)).square().mean(dims); // (C), biased
            using (torch.no_grad())
            {
                running_mean.mul_(1 - _momentum).add_(mean.detach(), alpha: _momentum);
                running_var.mul_(1 - _momentum).add_(variance.detach(), alpha: _momentum);
            }
        }
        else
        {
            mean = running_mean;
            variance = running_var;
        }
        var logStd = (variance + _eps).log() * 0.5;                                    // (C)
        var y = (x - mean.reshape(1, -1, 1, 1)) * (log_gamma - logStd).exp().reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1);
        var logDet = (log_gamma - logStd).sum() * (x.shape[2] * x.shape[3]);            // same for every item
        return (y, logDet.expand(x.shape[0]).contiguous());
    }

    public override Tensor Inverse(Tensor y)
    {
        var logStd = (running_var + _eps).log() * 0.5;
        return (y - beta.reshape(1, -1, 1, 1)) * (logStd - log_gamma).exp().reshape(1, -1, 1, 1) + running_mean.reshape(1, -1, 1, 1);
    }
}
