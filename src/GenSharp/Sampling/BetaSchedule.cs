namespace GenSharp.Sampling;

/// <summary>How the per-step noise variances β_t of a diffusion process are laid out over t = 0..T-1.</summary>
public enum BetaSchedule
{
    /// <summary>
    /// β_t rises linearly from <c>betaStart</c> to <c>betaEnd</c> (Ho et al. 2020, §4: 1e-4 to 0.02 for T = 1000).
    /// </summary>
    Linear,

    /// <summary>
    /// ᾱ_t follows cos²(((t/T) + s) / (1 + s) · π/2) with s = 0.008, and β_t = 1 − ᾱ_{t+1}/ᾱ_t clipped at 0.999
    /// (Nichol &amp; Dhariwal 2021, eq. 17). Destroys information more slowly than <see cref="Linear"/> at low noise.
    /// </summary>
    Cosine,

    /// <summary>
    /// sqrt(β_t) rises linearly from sqrt(<c>betaStart</c>) to sqrt(<c>betaEnd</c>): Stable Diffusion's "scaled_linear"
    /// (0.00085 to 0.012 for T = 1000).
    /// </summary>
    ScaledLinear,
}
