namespace GenSharp.Pipelines;

/// <summary>Settings of <see cref="SampleQuality"/>.</summary>
public sealed record SampleQualityOptions
{
    /// <summary>
    /// Generated samples, and test images they are compared with (N of each; fixed and reported). The
    /// literature uses 10,000; 1,000 keeps slow samplers (PixelCNN, DDPM-1000) to minutes on a CPU.
    /// Metrics at different N are not comparable (FD is biased upwards at small N).
    /// </summary>
    public int N { get; init; } = 1000;
    /// <summary>Images per sampler call and per classifier batch.</summary>
    public int BatchSize { get; init; } = 250;
    /// <summary>Seeds the sampler (torch's global RNG), the choice of test/train images and the KID subsets.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>KID subsets to average (100 in Bińkowski et al.).</summary>
    public int KidSubsets { get; init; } = 100;
    /// <summary>
    /// Items per KID subset; null = min(1000, N/2). The literature's min(N, 1000) would make every subset
    /// the whole set when N ≤ 1000, leaving a spread (and standard error) of 0 that means nothing.
    /// </summary>
    public int? KidSubsetSize { get; init; }
    /// <summary>k of the k-NN manifolds of precision/recall (3 in Kynkäänniemi et al.).</summary>
    public int PrecisionRecallK { get; init; } = 3;
    /// <summary>Compute the nearest-training-image distances (the slowest part: N × training-set pixel distances).</summary>
    public bool Memorisation { get; init; } = true;

    /// <summary>Throws a one-line error for impossible values.</summary>
    public void Validate()
    {
        if (N is < 10 or > 100_000) throw new ParameterException("n", $"must be in [10, 100000], got {N}");
        if (BatchSize is < 1 or > 100_000) throw new ParameterException("batch_size", $"must be in [1, 100000], got {BatchSize}");
        if (KidSubsets < 1) throw new ParameterException("kid_subsets", $"must be ≥ 1, got {KidSubsets}");
        if (KidSubsetSize is { } m && (m < 2 || m > N)) throw new ParameterException("kid_subset_size", $"must be in [2, N = {N}], got {m}");
        if (PrecisionRecallK < 1 || PrecisionRecallK >= N) throw new ParameterException("precision_recall_k", $"must be in [1, N − 1], got {PrecisionRecallK}");
    }
}
