using GenSharp.Sampling;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Energy;

/// <summary>
/// Annealed importance sampling of an RBM's partition function (Neal 2001; Salakhutdinov &amp; Murray 2008,
/// "On the Quantitative Analysis of Deep Belief Networks", §4). The path runs from a base-rate model A
/// (no weights, visible biases bᴬ) to the RBM B through
/// p*_β(v) = exp((1 − β) bᴬ·v + β b·v) Πⱼ (1 + exp(β (cⱼ + Wⱼ·v)))  (eq. 16, hidden units summed out),
/// with Z_0 = Z_A = 2^H Πᵢ (1 + exp(bᴬᵢ)) and Z_1 = Z. Each chain starts with v ~ p_A, adds
/// log p*_βₖ(v) − log p*_βₖ₋₁(v) to its log-weight, then takes one Gibbs sweep that leaves p_βₖ invariant:
/// h ~ σ(βₖ (c + W v)), v ~ σ((1 − βₖ) bᴬ + βₖ (b + Wᵀh)). log Ẑ = log Z_A + log mean exp(log w).
/// </summary>
public static class AnnealedImportanceSampling
{
    /// <summary>
    /// β₀ = 0 &lt; … &lt; β_K = 1 spaced as Salakhutdinov &amp; Murray's 14,500: uniform steps over [0, 0.5], [0.5, 0.9]
    /// and [0.9, 1] in the proportions 500 : 4,000 : 10,000 (the last stretch, where the distribution changes
    /// fastest, gets most). Fewer than 30 steps are spaced uniformly.
    /// </summary>
    public static double[] Schedule(int k)
    {
        if (k < 1) throw new GenSharpException($"AIS needs at least one intermediate distribution, got {k}");
        if (k < 30) return Enumerable.Range(0, k + 1).Select(i => (double)i / k).ToArray();
        int n1 = (int)Math.Round(k * 500.0 / 14500), n2 = (int)Math.Round(k * 4000.0 / 14500), n3 = k - n1 - n2;
        var betas = new List<double>(k + 1);
        for (int i = 0; i < n1; i++) betas.Add(0.5 * i / n1);
        for (int i = 0; i < n2; i++) betas.Add(0.5 + 0.4 * i / n2);
        for (int i = 0; i <= n3; i++) betas.Add(0.9 + 0.1 * i / n3);
        betas[^1] = 1.0;
        return betas.ToArray();
    }

    /// <summary>
    /// Estimates log Z of <paramref name="rbm"/> with <paramref name="runs"/> independent AIS runs of
    /// <paramref name="chains"/> chains each (all runs advance together as one batch of runs × chains) over
    /// <paramref name="betas"/> intermediate distributions. Draws from torch's global generator.
    /// </summary>
    /// <param name="rbm">The RBM.</param>
    /// <param name="baseBias">bᴬ (V), the base-rate model's visible biases, e.g. <see cref="Rbm.BaseRateBias"/>.</param>
    /// <param name="chains">Chains per run.</param>
    /// <param name="betas">Intermediate distributions K (see <see cref="Schedule"/>).</param>
    /// <param name="runs">Independent runs, for the spread of the estimate.</param>
    public static AisEstimate Estimate(Rbm rbm, Tensor baseBias, int chains, int betas, int runs)
    {
        if (chains < 1) throw new GenSharpException($"AIS chains must be ≥ 1, got {chains}");
        if (runs < 1) throw new GenSharpException($"AIS runs must be ≥ 1, got {runs}");
        var schedule = Schedule(betas);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var device = rbm.Weight.device;
        var bA = baseBias.to(device).to_type(ScalarType.Float32);             // (V)
        var b = rbm.VisibleBias.detach();                                     // (V)
        var db = (b - bA).to_type(ScalarType.Float64);                        // (V), the β-scaled visible term
        long n = (long)chains * runs;
        double logZA = rbm.Hidden * Math.Log(2) + softplus(bA.to_type(ScalarType.Float64)).sum().item<double>();

        var v = BernoulliSampling.Sample(torch.sigmoid(bA).expand(n, bA.shape[0]).contiguous());  // (N, V) ~ p_A
        var logW = torch.zeros(n, dtype: ScalarType.Float64, device: device);              // (N)
        for (int k = 1; k < schedule.Length; k++)
        {
            using var step = torch.NewDisposeScope();
            double bPrev = schedule[k - 1], bNow = schedule[k];
            var x = rbm.HiddenLogits(v);                                       // (N, H), c + W v
            var x64 = x.to_type(ScalarType.Float64);
            // log p*_βk(v) − log p*_βk−1(v): the bᴬ·v terms cancel up to (βk − βk−1)(b − bᴬ)·v.
            var delta = (bNow - bPrev) * v.to_type(ScalarType.Float64).matmul(db)
                        + (softplus(x64 * bNow) - softplus(x64 * bPrev)).sum(1);
            logW.add_(delta);
            if (k == schedule.Length - 1) break;                               // the last transition would not change w
            var h = BernoulliSampling.Sample(torch.sigmoid(x * bNow));         // (N, H)
            var pv = torch.sigmoid(bA * (1 - bNow) + (h.matmul(rbm.Weight) + b) * bNow);
            var nv = BernoulliSampling.Sample(pv).MoveToOuterDisposeScope();
            v.Dispose();
            v = nv;
        }
        var w = logW.cpu().data<double>().ToArray();
        double pooled = logZA + LogMeanExp(w);
        var perRun = Enumerable.Range(0, runs).Select(r => logZA + LogMeanExp(w.AsSpan(r * chains, chains))).ToArray();
        double std = runs > 1 ? Math.Sqrt(perRun.Select(e => (e - perRun.Average()) * (e - perRun.Average())).Sum() / (runs - 1)) : double.NaN;
        // ±3σ of the mean weight, computed relative to the largest weight to stay in range.
        double max = w.Max();
        var scaled = w.Select(l => Math.Exp(l - max)).ToArray();
        double mean = scaled.Average();
        double sigma = w.Length > 1 ? Math.Sqrt(scaled.Select(s => (s - mean) * (s - mean)).Sum() / (w.Length - 1) / w.Length) : 0;
        double lo = mean - 3 * sigma > 0 ? logZA + max + Math.Log(mean - 3 * sigma) : double.NegativeInfinity;
        double hi = logZA + max + Math.Log(mean + 3 * sigma);
        return new AisEstimate(pooled, std, lo, hi, logZA, perRun, chains, betas);
    }

    /// <summary>log(mean(exp(x))), stable.</summary>
    public static double LogMeanExp(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity;
        foreach (var e in x) max = Math.Max(max, e);
        double s = 0;
        foreach (var e in x) s += Math.Exp(e - max);
        return max + Math.Log(s / x.Length);
    }
}
