namespace GenSharp.Sampling;

/// <summary>
/// Euler's method on the probability-flow ODE in the σ parametrisation of Karras et al. 2022 ("Elucidating the Design
/// Space of Diffusion-Based Generative Models", arXiv:2206.00364): deterministic and first order.
/// </summary>
/// <remarks>
/// <para>A variance-preserving x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε is the variance-exploding y = x_t/√ᾱ_t = x0 + σ_t·ε with
/// σ_t = √((1 − ᾱ_t)/ᾱ_t). The probability-flow ODE is then dy/dσ = (y − x̂0)/σ = ε̂ (Karras et al. eq. 3 with
/// D = x̂0), and one Euler step from σ to the next visited σ' is y' = y + (σ' − σ)·ε̂ (Algorithm 1 without the
/// Heun correction). The sample stays in the model's scaling: x_{t'} = √ᾱ_{t'}·y'. After the last visited timestep
/// σ' = 0, so the last step returns x̂0.</para>
/// <para>This is the same update as DDIM with η = 0 (Song et al. 2021, eq. 12 divided by √ᾱ_{t'}); the two
/// classes are written from different equations and a test checks they agree.</para>
/// </remarks>
public sealed class EulerScheduler : DiffusionScheduler
{
    /// <summary>Creates the scheduler, visiting all T timesteps until <see cref="DiffusionScheduler.SetTimesteps(int)"/>.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1] (and re-derive ε̂ from it).</param>
    public EulerScheduler(NoiseSchedule schedule, PredictionType prediction = PredictionType.Epsilon, bool clipSample = true)
        : base(schedule, prediction, clipSample) { }

    /// <inheritdoc/>
    public override string Name => "euler";

    /// <inheritdoc/>
    public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
    {
        var (_, alphaBar, alphaBarPrev) = BeginStep(modelOutput, t, sample);
        using var scope = torch.NewDisposeScope();
        var (x0, eps) = Predict(modelOutput, t, sample);
        double sigma = SigmaOf(alphaBar), sigmaNext = SigmaOf(alphaBarPrev);
        var y = sample / Math.Sqrt(alphaBar);                 // VE variable y = x0 + σ·ε
        var yNext = y + (sigmaNext - sigma) * eps;             // Euler step of dy/dσ = ε̂
        var prevSample = Math.Sqrt(alphaBarPrev) * yNext;
        return new SchedulerStep(prevSample.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }

    /// <summary>σ = √((1 − ᾱ)/ᾱ), the noise level of y = x/√ᾱ (0 for clean data).</summary>
    internal static double SigmaOf(double alphaBar) => Math.Sqrt((1.0 - alphaBar) / alphaBar);
}
