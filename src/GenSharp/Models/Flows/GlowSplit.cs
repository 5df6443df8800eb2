using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Multi-scale factor-out with a learned prior (Dinh et al. 2017, §3.6; Kingma &amp; Dhariwal 2018,
/// "split"): of h (B,C,H,W) the first ⌊C/2⌋ channels are kept and flow on, the rest z are factored
/// out with the conditional prior z ~ N(μ, σ²), (μ, log σ) = conv3×3(kept). The conv is
/// zero-initialised, so the prior starts as N(0, I). Not a bijection on its own: the factored z is
/// a latent of the model, and Forward returns its log-density.
/// </summary>
public sealed class GlowSplit : nn.Module
{
    readonly long _keep, _out;
    private readonly Conv2d prior;

    /// <param name="channels">C of the input h.</param>
    public GlowSplit(long channels) : base(nameof(GlowSplit))
    {
        _keep = channels / 2;
        _out = channels - _keep;
        prior = ModuleInit.Zeroed(nn.Conv2d(_keep, 2 * _out, 3, padding: 1));
        RegisterComponents();
    }

    /// <summary>The prior's convolution (tests perturb it).</summary>
    public Conv2d PriorConv => prior;

    /// <summary>Mean and log-std of the factored half given the kept half: each (B, C_out, H, W).</summary>
    public (Tensor Mean, Tensor LogStd) Prior(Tensor kept)
    {
        var h = prior.forward(kept);
        return (h.narrow(1, 0, _out), h.narrow(1, _out, _out));
    }

    /// <summary>Splits h into (kept, factored z) and returns log p(z | kept) per item (B).</summary>
    public (Tensor Kept, Tensor Z, Tensor LogProb) Forward(Tensor h)
    {
        var kept = h.narrow(1, 0, _keep);
        var z = h.narrow(1, _keep, _out);
        var (mean, logStd) = Prior(kept);
        return (kept, z, FlowMath.GaussianLogProb(z, mean, logStd));
    }

    /// <summary>
    /// Re-joins kept and factored halves. When <paramref name="z"/> is null it is drawn from the prior
    /// with σ scaled by <paramref name="temperature"/> (0 gives the prior mean).
    /// </summary>
    public Tensor Inverse(Tensor kept, Tensor? z, double temperature)
    {
        if (z is null)
        {
            var (mean, logStd) = Prior(kept);
            z = mean + temperature * logStd.exp() * torch.randn_like(mean);
        }
        return torch.cat(new[] { kept, z }, 1);
    }
}
