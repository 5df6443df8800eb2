namespace GenSharp.Evaluation;

/// <summary>
/// How generated samples spread over the classes, as the domain classifier sees them: counts and shares
/// of the predicted classes, their entropy (nats, and divided by ln K so 1 = perfectly even, 0 = one
/// class only — mode collapse), and for conditional models the share of samples classified as the class
/// they were asked for.
/// </summary>
public sealed class ClassStats
{
    ClassStats(long[] counts, double? agreement)
    {
        Counts = counts;
        long total = counts.Sum();
        Shares = counts.Select(c => total > 0 ? (double)c / total : 0).ToArray();
        Entropy = -Shares.Where(p => p > 0).Sum(p => p * Math.Log(p));
        NormalizedEntropy = counts.Length > 1 ? Entropy / Math.Log(counts.Length) : 0;
        Agreement = agreement;
    }

    /// <summary>Samples predicted as each class (length K).</summary>
    public IReadOnlyList<long> Counts { get; }
    /// <summary>Counts / total (length K).</summary>
    public IReadOnlyList<double> Shares { get; }
    /// <summary>Entropy of <see cref="Shares"/> in nats, in [0, ln K].</summary>
    public double Entropy { get; }
    /// <summary><see cref="Entropy"/> / ln K, in [0, 1].</summary>
    public double NormalizedEntropy { get; }
    /// <summary>Share of samples whose predicted class equals the asked class; null for unconditional samples.</summary>
    public double? Agreement { get; }

    /// <summary>
    /// Statistics of <paramref name="predicted"/> class indices (N) over <paramref name="numClasses"/> classes;
    /// with <paramref name="asked"/> (N), also the agreement between asked and predicted class.
    /// </summary>
    public static ClassStats Compute(Tensor predicted, int numClasses, Tensor? asked = null)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "need at least one class");
        if (predicted.dim() != 1) throw new ArgumentException("predicted classes must be (N)", nameof(predicted));
        using var scope = torch.NewDisposeScope();
        var p = predicted.detach().cpu().to(ScalarType.Int64);
        if (p.numel() > 0 && (p.min().item<long>() < 0 || p.max().item<long>() >= numClasses))
            throw new ArgumentException($"predicted classes must lie in [0, {numClasses})", nameof(predicted));
        var counts = torch.bincount(p, minlength: numClasses).data<long>().ToArray();
        double? agreement = null;
        if (asked is not null)
        {
            if (asked.dim() != 1 || asked.shape[0] != p.shape[0])
                throw new ArgumentException($"asked classes must be (N) like the predicted ones, got ({string.Join(", ", asked.shape)})", nameof(asked));
            agreement = p.numel() == 0 ? 0 : p.eq(asked.detach().cpu().to(ScalarType.Int64)).to(ScalarType.Float64).mean().item<double>();
        }
        return new ClassStats(counts, agreement);
    }
}
