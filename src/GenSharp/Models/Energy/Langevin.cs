namespace GenSharp.Models.Energy;

/// <summary>
/// Langevin dynamics on an energy E (p(x) ∝ exp(−E(x))), with gradients from libtorch's autograd:
/// x_{k+1} = x_k − (ε/2)·∇ₓE(x_k) + σ·ξ_k, ξ_k ~ N(0, I) (Welling &amp; Teh 2011, eq. 4, without the minibatch).
/// With σ² = ε and no drift clip or box it is the unadjusted Langevin algorithm, whose stationary law tends to
/// exp(−E) as ε → 0; short-run EBM training uses σ² ≪ ε (Du &amp; Mordatch 2019, Nijkamp et al. 2019).
/// </summary>
public static class Langevin
{
    /// <summary>
    /// Runs <paramref name="steps"/> steps from <paramref name="start"/> (B, ...) and returns the final x (detached,
    /// same shape). <paramref name="energy"/> maps x to per-item energies (B). <paramref name="driftClip"/> &gt; 0 clamps
    /// each coordinate of (ε/2)·∇E to ±driftClip; <paramref name="box"/> clamps x to [lo, hi] after each step.
    /// Where <paramref name="knownMask"/> (bool, broadcastable to x) is true, x is reset to <paramref name="known"/>
    /// after every step, so those entries end equal to it exactly (clamped inpainting). Noise from <paramref name="gen"/>
    /// (drawn on the CPU) or torch's global generator. Parameters of E receive no gradients.
    /// </summary>
    public static Tensor Run(Func<Tensor, Tensor> energy, Tensor start, int steps, double stepSize, double noiseStd,
        double driftClip = 0, (double Lo, double Hi)? box = null, Tensor? knownMask = null, Tensor? known = null, Generator? gen = null)
    {
        if ((knownMask is null) != (known is null)) throw new ArgumentException("give knownMask and known together");
        using var outer = torch.NewDisposeScope();
        var x = start.detach().clone();
        if (knownMask is not null) x = torch.where(knownMask, known!, x);
        for (int k = 0; k < steps; k++)
        {
            using var scope = torch.NewDisposeScope();
            Tensor grad;
            using (torch.enable_grad())
            {
                var xg = x.detach().requires_grad_(true);
                var e = energy(xg).sum();   // Σ_b E(x_b): its gradient w.r.t. x_b is ∇E(x_b)
                grad = torch.autograd.grad(new[] { e }, new[] { xg })[0];
            }
            using (torch.no_grad())
            {
                var drift = grad * (stepSize / 2);
                if (driftClip > 0) drift = drift.clamp(-driftClip, driftClip);
                var next = x - drift;
                if (noiseStd > 0) next = next + noiseStd * Noise(x, gen);
                if (box is { } b) next = next.clamp(b.Lo, b.Hi);
                if (knownMask is not null) next = torch.where(knownMask, known!, next);
                x = next.MoveToOuterDisposeScope();
            }
        }
        return x.detach().MoveToOuterDisposeScope();
    }

    /// <summary>Standard normal noise shaped like <paramref name="like"/>, on its device.</summary>
    internal static Tensor Noise(Tensor like, Generator? gen) => gen is null
        ? torch.randn_like(like)
        : torch.randn(like.shape, dtype: like.dtype, generator: gen).to(like.device);
}
