namespace GenSharp.Sampling;

/// <summary>The variance of the reverse step p(x_{t-1} | x_t) used by <see cref="DdpmScheduler"/> (Ho et al. 2020, §3.2).</summary>
public enum DdpmVariance
{
    /// <summary>
    /// σ_t² = β̃_t = (1 − ᾱ_{t-1}) / (1 − ᾱ_t) · β_t, the variance of the true posterior q(x_{t-1} | x_t, x0) (eq. 7);
    /// optimal when x0 is a single point.
    /// </summary>
    FixedSmall,

    /// <summary>σ_t² = β_t; optimal for x0 ~ N(0, I). Gives slightly noisier samples.</summary>
    FixedLarge,
}
