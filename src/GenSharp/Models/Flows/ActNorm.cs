using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Activation normalization (Kingma &amp; Dhariwal 2018, §3.1): a per-channel affine map
/// y = (x + bias) · exp(logs), log|det| = H·W·Σ_c logs_c.
/// Data-dependent initialisation: the first forward pass in training mode while the
/// <c>initialized</c> buffer is 0 sets bias = −mean and logs = −log(std + eps) per channel from that
/// batch (so its output has zero mean and unit variance per channel), then sets the buffer to 1.
/// The buffer is part of the state dict, so a loaded checkpoint is never re-initialised; eval-mode
/// passes never initialise.
/// </summary>
public sealed class ActNorm : FlowLayer
{
    const double Eps = 1e-6;
    private readonly Parameter bias;        // (1, C, 1, 1)
    private readonly Parameter logs;        // (1, C, 1, 1), log of the scale
    private readonly Tensor initialized;    // int64 scalar: 0 until the data-dependent init ran

    public ActNorm(long channels) : base(nameof(ActNorm))
    {
        bias = new Parameter(torch.zeros(1, channels, 1, 1));
        logs = new Parameter(torch.zeros(1, channels, 1, 1));
        initialized = torch.zeros(Array.Empty<long>(), dtype: ScalarType.Int64);
        RegisterComponents();
    }

    /// <summary>Whether the data-dependent initialisation has run (or was loaded).</summary>
    public bool IsInitialized => initialized.to_type(ScalarType.Int64).item<long>() != 0;

    /// <summary>Per-channel bias, (1,C,1,1).</summary>
    public Parameter Bias => bias;
    /// <summary>Per-channel log-scale, (1,C,1,1).</summary>
    public Parameter LogScale => logs;

    /// <summary>Marks the layer as initialised without touching its parameters (tests, manual init).</summary>
    public void MarkInitialized()
    {
        using var _ = torch.no_grad();
        initialized.fill_(1);
    }

    /// <summary>Sets bias and logs from the batch <paramref name="x"/> (B,C,H,W) and marks the layer initialised.</summary>
    public void InitializeFrom(Tensor x)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var dims = new long[] { 0, 2, 3 };
        var mean = x.mean(dims, keepdim: true);                                   // (1, C, 1, 1)
        var std = (x - mean).square().mean(dims, keepdim: true).sqrt();           // biased, as the output's std
        bias.copy_(-mean);
        logs.copy_(-(std + Eps).log());
        initialized.fill_(1);
    }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        if (training && !IsInitialized) InitializeFrom(x);
        long hw = x.shape[2] * x.shape[3];
        var y = (x + bias) * logs.exp();
        var logDet = (logs.sum() * hw).expand(x.shape[0]);                         // (B)
        return (y, logDet);
    }

    public override Tensor Inverse(Tensor y) => y * (-logs).exp() - bias;
}
