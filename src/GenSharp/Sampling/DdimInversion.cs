namespace GenSharp.Sampling;

/// <summary>
/// DDIM inversion (Song et al. 2021 §4.3; Dhariwal &amp; Nichol 2021 App. F): the deterministic DDIM update (η = 0) run
/// backwards, from a clean sample x₀ up the visited timesteps to an estimate of the x_T that sampling would have started
/// from. Each step evaluates the network at the current (lower) noise level and moves to the next one, the usual
/// approximation that the noise prediction changes little between neighbouring timesteps.
/// </summary>
public static class DdimInversion
{
    /// <summary>
    /// Inverts <paramref name="x0"/> through the timesteps a <paramref name="steps"/>-step DDIM sampler visits.
    /// </summary>
    /// <param name="x0">The clean sample in the diffused space (pixels in [−1, 1] or scaled latents).</param>
    /// <param name="steps">DDIM steps of the sampler that drew it.</param>
    /// <param name="schedule">The model's noise schedule.</param>
    /// <param name="prediction">What the network predicts (ε or v).</param>
    /// <param name="predict">The network output for (x_t, t).</param>
    /// <returns>x_T, on <paramref name="x0"/>'s device.</returns>
    public static Tensor Invert(Tensor x0, int steps, NoiseSchedule schedule, PredictionType prediction, Func<Tensor, long, Tensor> predict)
    {
        if (steps < 1 || steps > schedule.Timesteps)
            throw new ParameterException("steps", $"must be in [1, {schedule.Timesteps}] (the model's timesteps), got {steps}");
        using var outer = torch.NewDisposeScope();
        var ddim = Schedulers.Create("ddim", schedule, prediction, eta: 0, clipSample: false);
        long[] ascending;
        try
        {
            ddim.SetTimesteps(steps);
            ascending = ddim.Timesteps.Reverse().ToArray();                                          // e.g. 49, 99, …, 999
        }
        finally { (ddim as IDisposable)?.Dispose(); }
        var x = x0;
        double alphaBarNow = 1.0;
        long tNow = ascending[0];   // the clean sample is evaluated at the first timestep
        foreach (long t in ascending)
        {
            using var scope = torch.NewDisposeScope();
            var output = predict(x, tNow);
            // ε̂ from the network output (ε, or v = √ᾱ ε − √(1−ᾱ) x₀ ⇒ ε = √ᾱ v + √(1−ᾱ) x_t).
            var eps = prediction == PredictionType.Epsilon ? output : Math.Sqrt(alphaBarNow) * output + Math.Sqrt(1 - alphaBarNow) * x;
            var clean = (x - Math.Sqrt(1 - alphaBarNow) * eps) / Math.Sqrt(alphaBarNow);
            double alphaBarNext = schedule.AlphaCumprodAt(t);
            // DDIM eq. 12 with η = 0, from ᾱ_now up to ᾱ_next.
            var next = (Math.Sqrt(alphaBarNext) * clean + Math.Sqrt(1 - alphaBarNext) * eps).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, x0)) x.Dispose();
            x = next;
            alphaBarNow = alphaBarNext;
            tNow = t;
        }
        return x.MoveToOuterDisposeScope();
    }
}
