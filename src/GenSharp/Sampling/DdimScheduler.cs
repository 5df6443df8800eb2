namespace GenSharp.Sampling;

/// <summary>
/// Denoising diffusion implicit models (Song, Meng &amp; Ermon 2021): a non-Markovian reverse process with the same
/// marginals as DDPM, so a network trained for DDPM samples in far fewer steps. η = 0 (the default) is
/// deterministic; η = 1 has the DDPM posterior variance.
/// </summary>
/// <remarks>
/// <para>Each step from t to the next visited t' (eq. 12):
/// x_{t'} = sqrt(ᾱ_{t'})·x̂0 + sqrt(1 − ᾱ_{t'} − σ²)·ε̂ + σ·z, with
/// σ = η·sqrt((1 − ᾱ_{t'})/(1 − ᾱ_t))·sqrt(1 − ᾱ_t/ᾱ_{t'}) (eq. 16). After the last visited timestep ᾱ_{t'} = 1,
/// so the last step returns x̂0 and draws no noise.</para>
/// <para><see cref="DiffusionScheduler.SetTimesteps(int)"/> spaces any number of steps "trailing" (see <see cref="DiffusionScheduler"/>):
/// T-1, T-1-T/n, ..., T/n-1, so sampling always starts from the pure-noise end of the schedule.</para>
/// <para>With <see cref="DiffusionScheduler.ClipSample"/> (default) x̂0 is clamped to [-1, 1] and ε̂ is re-derived from the clamped x̂0,
/// keeping both terms of eq. 12 consistent with x_t.</para>
/// </remarks>
public sealed class DdimScheduler : DiffusionScheduler
{
    /// <summary>Creates the scheduler, visiting all T timesteps until <see cref="DiffusionScheduler.SetTimesteps(int)"/>.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="eta">η in [0, 1]: 0 deterministic, 1 DDPM-like noise.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1] (and re-derive ε̂ from it).</param>
    public DdimScheduler(NoiseSchedule schedule, PredictionType prediction = PredictionType.Epsilon,
        double eta = 0.0, bool clipSample = true)
        : base(schedule, prediction, clipSample)
    {
        if (!(eta >= 0.0 && eta <= 1.0))
            throw new GenSharpException($"eta must be in [0, 1] (0 = deterministic DDIM, 1 = DDPM-like), got {eta}");
        Eta = eta;
    }

    /// <inheritdoc/>
    public override string Name => "ddim";

    /// <summary>η of eq. 16, scaling the noise of each step; 0 makes sampling deterministic.</summary>
    public double Eta { get; }

    /// <inheritdoc/>
    public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
    {
        var (prev, alphaBar, alphaBarPrev) = BeginStep(modelOutput, t, sample);
        using var scope = torch.NewDisposeScope();

        var (x0, eps) = Predict(modelOutput, t, sample);
        // σ_t(η), Song et al. 2021 eq. 16.
        double sigma = Eta * Math.Sqrt((1.0 - alphaBarPrev) / (1.0 - alphaBar) * (1.0 - alphaBar / alphaBarPrev));
        // Eq. 12: "predicted x0" + "direction pointing to x_t" + random noise. The max guards rounding at η = 1.
        double direction = Math.Sqrt(Math.Max(1.0 - alphaBarPrev - sigma * sigma, 0.0));
        var prevSample = Math.Sqrt(alphaBarPrev) * x0 + direction * eps;
        if (prev >= 0 && sigma > 0)
            prevSample = prevSample + sigma * Noise(sample, generator);
        return new SchedulerStep(prevSample.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
