namespace GenSharp.Sampling;

/// <summary>
/// Ancestral sampling of Ho et al. 2020 ("Denoising Diffusion Probabilistic Models"): each step draws
/// x_{t'} ~ N(μ̃(x_t, x̂0), σ²·I) where μ̃ is the mean of the true posterior q(x_{t'} | x_t, x0) (eq. 7) evaluated at
/// the network's x̂0, and t' is the next visited timestep.
/// </summary>
/// <remarks>
/// <para>With all T timesteps (the default) this is the paper's sampler (Algorithm 2). <see cref="DiffusionScheduler.SetTimesteps(int)"/>
/// with n &lt; T strides the chain over n "trailing" timesteps (see <see cref="DiffusionScheduler"/>:
/// T-1, T-1-T/n, ..., T/n-1, i.e. diffusers' <c>timestep_spacing="trailing"</c>) and respaces the process as in
/// Nichol &amp; Dhariwal 2021, §4: between visited timesteps t and t' the step uses α = ᾱ_t/ᾱ_{t'} and β = 1 − α in
/// place of α_t and β_t, as diffusers' DDPMScheduler does for a shortened chain. Trailing spacing (rather than
/// diffusers' default "leading") makes the first step start at T-1, where x_T is pure noise. After the last
/// visited timestep ᾱ_{t'} = 1 (clean data).</para>
/// <para>The last step returns the posterior mean without noise. x̂0 is clamped to [-1, 1] first unless
/// <see cref="DiffusionScheduler.ClipSample"/> is off (data scaled to [-1, 1] is assumed).</para>
/// </remarks>
public sealed class DdpmScheduler : DiffusionScheduler
{
    /// <summary>Creates the scheduler, visiting all T timesteps.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="variance">σ² of each step: β̃ (default) or β.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1] before forming the posterior mean.</param>
    public DdpmScheduler(NoiseSchedule schedule, PredictionType prediction = PredictionType.Epsilon,
        DdpmVariance variance = DdpmVariance.FixedSmall, bool clipSample = true)
        : base(schedule, prediction, clipSample)
    {
        if (!Enum.IsDefined(variance))
            throw new GenSharpException($"unknown DDPM variance {variance}; use FixedSmall or FixedLarge");
        Variance = variance;
    }

    /// <inheritdoc/>
    public override string Name => "ddpm";

    /// <summary>σ² of each reverse step.</summary>
    public DdpmVariance Variance { get; }

    /// <inheritdoc/>
    public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
    {
        var (prev, alphaBar, alphaBarPrev) = BeginStep(modelOutput, t, sample);
        using var scope = torch.NewDisposeScope();
        double alpha = alphaBar / alphaBarPrev;                     // respaced α (= α_t when no step is skipped)
        double beta = 1.0 - alpha;

        var (x0, _) = Predict(modelOutput, t, sample);
        // Posterior mean, Ho et al. 2020 eq. 7:
        // μ̃ = sqrt(ᾱ_{t'})·β/(1 − ᾱ_t)·x0 + sqrt(α)·(1 − ᾱ_{t'})/(1 − ᾱ_t)·x_t
        double cX0 = Math.Sqrt(alphaBarPrev) * beta / (1.0 - alphaBar);
        double cXt = Math.Sqrt(alpha) * (1.0 - alphaBarPrev) / (1.0 - alphaBar);
        var prevSample = cX0 * x0 + cXt * sample;
        if (prev >= 0)
        {
            // σ² = β̃ = (1 − ᾱ_{t'})/(1 − ᾱ_t)·β (eq. 7) or σ² = β (Ho et al. §3.2).
            double variance = Variance == DdpmVariance.FixedSmall
                ? (1.0 - alphaBarPrev) / (1.0 - alphaBar) * beta
                : beta;
            prevSample = prevSample + Math.Sqrt(variance) * Noise(sample, generator);
        }
        return new SchedulerStep(prevSample.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
