namespace GenSharp.Sampling;

/// <summary>
/// Euler ancestral sampling (Karras et al. 2022, arXiv:2206.00364, in the σ parametrisation of
/// <see cref="EulerScheduler"/>): each step goes deterministically down to σ_down and adds fresh noise σ_up, with
/// σ_down² + σ_up² = σ'², so the step keeps the marginal noise level of an ancestral (DDPM-like) sampler.
/// </summary>
/// <remarks>
/// <para>From σ to the next visited σ': σ_up = √(σ'²(σ² − σ'²)/σ²), σ_down = √(σ'² − σ_up²),
/// y' = y + (σ_down − σ)·ε̂ + σ_up·z with z ~ N(0, I), x_{t'} = √ᾱ_{t'}·y'. σ_up² is the variance of the
/// DDPM posterior q(y_{t'} | y_t, x0) in the σ scaling, so this is the same process as DDIM with η = 1
/// (a test checks it). The last step (σ' = 0) draws no noise and returns x̂0.</para>
/// </remarks>
public sealed class EulerAncestralScheduler : DiffusionScheduler
{
    /// <summary>Creates the scheduler, visiting all T timesteps until <see cref="DiffusionScheduler.SetTimesteps(int)"/>.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1] (and re-derive ε̂ from it).</param>
    public EulerAncestralScheduler(NoiseSchedule schedule, PredictionType prediction = PredictionType.Epsilon, bool clipSample = true)
        : base(schedule, prediction, clipSample) { }

    /// <inheritdoc/>
    public override string Name => "euler-a";

    /// <inheritdoc/>
    public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
    {
        var (prev, alphaBar, alphaBarPrev) = BeginStep(modelOutput, t, sample);
        using var scope = torch.NewDisposeScope();
        var (x0, eps) = Predict(modelOutput, t, sample);
        double sigma = EulerScheduler.SigmaOf(alphaBar), sigmaNext = EulerScheduler.SigmaOf(alphaBarPrev);
        double sigmaUp = Math.Sqrt(Math.Max(sigmaNext * sigmaNext * (sigma * sigma - sigmaNext * sigmaNext) / (sigma * sigma), 0.0));
        double sigmaDown = Math.Sqrt(Math.Max(sigmaNext * sigmaNext - sigmaUp * sigmaUp, 0.0));
        var y = sample / Math.Sqrt(alphaBar);
        var yNext = y + (sigmaDown - sigma) * eps;
        if (prev >= 0 && sigmaUp > 0) yNext = yNext + sigmaUp * Noise(sample, generator);
        var prevSample = Math.Sqrt(alphaBarPrev) * yNext;
        return new SchedulerStep(prevSample.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }
}
