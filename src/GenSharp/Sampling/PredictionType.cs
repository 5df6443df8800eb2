namespace GenSharp.Sampling;

/// <summary>What a diffusion network outputs for a noisy sample x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε.</summary>
public enum PredictionType
{
    /// <summary>The noise ε that was added (Ho et al. 2020, eq. 14).</summary>
    Epsilon,

    /// <summary>
    /// The velocity v = sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x0 (Salimans &amp; Ho 2022, §4), which stays well scaled at both
    /// ends of the schedule.
    /// </summary>
    V,
}
