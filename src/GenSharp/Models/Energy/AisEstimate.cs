namespace GenSharp.Models.Energy;

/// <summary>
/// An annealed-importance-sampling estimate of log Z (nats). <see cref="LogZ"/> pools every chain:
/// log Ẑ = log Z_A + log mean exp(log w). AIS is unbiased for Z, so log Ẑ underestimates log Z in expectation
/// (Jensen) and test log-likelihoods built on it are optimistic when the chains have not converged.
/// </summary>
/// <param name="LogZ">log Ẑ over all Runs × Chains importance weights.</param>
/// <param name="RunStd">Standard deviation of the Runs independent estimates of log Z (each over Chains weights); NaN for one run.</param>
/// <param name="LogZMinus3Sigma">log(Ẑ − 3σ̂), σ̂ = std(w)/√N over the pooled weights (Salakhutdinov &amp; Murray 2008, Table 2); −∞ when Ẑ − 3σ̂ ≤ 0.</param>
/// <param name="LogZPlus3Sigma">log(Ẑ + 3σ̂).</param>
/// <param name="LogZBase">log Z_A of the base-rate model the chains start from.</param>
/// <param name="RunEstimates">The per-run estimates of log Z.</param>
/// <param name="Chains">Chains per run.</param>
/// <param name="Betas">Intermediate distributions K (β₀ = 0 … β_K = 1).</param>
public sealed record AisEstimate(double LogZ, double RunStd, double LogZMinus3Sigma, double LogZPlus3Sigma, double LogZBase,
    IReadOnlyList<double> RunEstimates, int Chains, int Betas)
{
    /// <summary>Independent runs.</summary>
    public int Runs => RunEstimates.Count;
}
