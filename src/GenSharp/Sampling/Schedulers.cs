namespace GenSharp.Sampling;

/// <summary>Creates diffusion schedulers by name, for front ends and configs.</summary>
public static class Schedulers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "ddpm", "ddim", "euler", "euler-a", "dpm++2m" };

    /// <summary>Creates the scheduler called <paramref name="name"/>, visiting all T timesteps until <c>SetTimesteps</c>.</summary>
    /// <param name="name"><c>ddpm</c> (ancestral, β̃ variance), <c>ddim</c>, <c>euler</c>, <c>euler-a</c> (Euler ancestral) or <c>dpm++2m</c> (DPM-Solver++ 2M); case-insensitive.</param>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="eta">DDIM's η in [0, 1]; must be 0 for the other schedulers.</param>
    /// <param name="clipSample">Clamp the predicted x0 to [-1, 1] at each step.</param>
    /// <exception cref="GenSharpException">Unknown name or a setting out of range.</exception>
    public static DiffusionScheduler Create(string name, NoiseSchedule schedule, PredictionType prediction,
        double eta = 0.0, bool clipSample = true)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "ddpm":
                if (eta != 0.0)
                    throw new GenSharpException($"eta = {eta} applies only to the ddim scheduler; use eta 0 with ddpm or choose ddim");
                return new DdpmScheduler(schedule, prediction, DdpmVariance.FixedSmall, clipSample);
            case "ddim":
                return new DdimScheduler(schedule, prediction, eta, clipSample);
            case "euler" or "euler-a" or "dpm++2m":
                if (eta != 0.0)
                    throw new GenSharpException($"eta = {eta} applies only to the ddim scheduler; use eta 0 with {name} or choose ddim");
                return name.Trim().ToLowerInvariant() switch
                {
                    "euler" => new EulerScheduler(schedule, prediction, clipSample),
                    "euler-a" => new EulerAncestralScheduler(schedule, prediction, clipSample),
                    _ => new DpmSolverMultistepScheduler(schedule, prediction, clipSample),
                };
            default:
                throw new GenSharpException($"unknown scheduler '{name}'; choose one of: {string.Join(", ", Names)}");
        }
    }
}
