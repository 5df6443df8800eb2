namespace GenSharp.Models;

/// <summary>A model that gives log p(x) exactly or as a bound (the description says which).</summary>
public interface ILikelihoodModel
{
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>What the numbers mean, e.g. "Bernoulli decoder on binarized pixels; ELBO is a lower bound".</summary>
    string LikelihoodDescription { get; }

    /// <summary>
    /// Per-item negative log-likelihood (or its upper bound) in nats for raw uint8 images (B,C,H,W)
    /// on the model's device. Used as the anomaly score.
    /// </summary>
    Tensor NegativeLogLikelihood(Tensor images);

    /// <summary>
    /// Metrics on a batch of raw images, summed over the batch (so the caller can average over a
    /// dataset): names like "neg_elbo", "iwae_nll". <paramref name="settings"/> carries options
    /// such as the number of importance samples.
    /// </summary>
    IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings);

    /// <summary>The <see cref="EvalSettings"/> this model uses, by parameter name (k, ais_chains, ais_betas, ais_runs).</summary>
    IReadOnlyCollection<string> EvalParameters => ["k"];
}

/// <summary>Options for likelihood evaluation.</summary>
/// <param name="ImportanceSamples">k for importance-weighted bounds.</param>
/// <param name="Seed">Seed for the stochastic parts (test-set binarization, importance samples).</param>
/// <param name="AisChains">Energy models (rbm, dbn): annealed-importance-sampling chains per run for log Z.</param>
/// <param name="AisBetas">Energy models: intermediate distributions of AIS (Salakhutdinov &amp; Murray 2008 use 14,500).</param>
/// <param name="AisRuns">Energy models: independent AIS runs, for the spread of log Z.</param>
public sealed record EvalSettings(int ImportanceSamples = 100, long Seed = 0, int AisChains = 100, int AisBetas = 14_500, int AisRuns = 3);
