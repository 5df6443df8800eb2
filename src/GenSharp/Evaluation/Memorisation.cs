namespace GenSharp.Evaluation;

/// <summary>
/// Does a model copy its training images? For every generated sample, the L2 distance in pixel space
/// (pixels scaled to [0, 1], all C·H·W values, float64) to its nearest training image; the same for
/// held-out test images, which the model never saw and which therefore show how close an honest new
/// image typically gets to the training set. A sample closer to the training set than the closest test
/// image ever gets is flagged as a likely copy.
/// </summary>
public static class Memorisation
{
    /// <summary>Rows (queries) per distance block.</summary>
    const int QueryChunk = 512;
    /// <summary>Training images per distance block by default: a block is 512 × 8192 float64 = 32 MB.</summary>
    public const int DefaultTrainChunk = 8192;

    /// <summary>
    /// Distance from each image of <paramref name="queries01"/> (N, C, H, W), float in [0, 1], to its nearest
    /// image in <paramref name="trainU8"/> (M, C, H, W), uint8: (N), float64 on the CPU. The training set
    /// is walked in blocks so N × 60,000 distances never sit in memory at once.
    /// </summary>
    /// <param name="queries01">Images to place, float in [0, 1] (N, C, H, W).</param>
    /// <param name="trainU8">Training images, uint8 (M, C, H, W).</param>
    /// <param name="trainChunk">Training images per block.</param>
    public static Tensor NearestTrainingDistances(Tensor queries01, Tensor trainU8, int trainChunk = DefaultTrainChunk)
    {
        if (trainChunk < 1) throw new ArgumentOutOfRangeException(nameof(trainChunk), trainChunk, "must be ≥ 1");
        if (queries01.dim() != 4 || trainU8.dim() != 4 || !queries01.shape.Skip(1).SequenceEqual(trainU8.shape.Skip(1)))
            throw new ArgumentException($"queries and training images must be (N, C, H, W) of the same geometry, got ({string.Join(", ", queries01.shape)}) and ({string.Join(", ", trainU8.shape)})");
        if (trainU8.dtype != ScalarType.Byte) throw new ArgumentException("training images must be uint8", nameof(trainU8));
        long n = queries01.shape[0], m = trainU8.shape[0];
        if (m == 0) throw new GenSharpException("the training set is empty; memorisation needs training images");
        var best = torch.full(n, double.PositiveInfinity, dtype: ScalarType.Float64);   // (N) squared distances
        using (var scope = torch.NewDisposeScope())
        {
            var q = queries01.detach().cpu().to(ScalarType.Float64).flatten(1);        // (N, P)
            for (long j = 0; j < m; j += trainChunk)
            {
                using var inner = torch.NewDisposeScope();
                var t = trainU8.narrow(0, j, Math.Min(trainChunk, m - j)).to(ScalarType.Float64).flatten(1) / 255.0; // (c, P)
                var tNorm = t.pow(2).sum(1);                                           // (c)
                for (long i = 0; i < n; i += QueryChunk)
                {
                    long len = Math.Min(QueryChunk, n - i);
                    var rows = q.narrow(0, i, len);                                    // (r, P)
                    // ‖a − b‖² = ‖a‖² + ‖b‖² − 2 aᵀb: one matmul per block; float64 keeps the cancellation
                    // error near 1e-13 even for exact copies.
                    var d2 = rows.pow(2).sum(1, keepdim: true) + tNorm.unsqueeze(0) - 2 * rows.matmul(t.t()); // (r, c)
                    var blockMin = d2.amin(1);                                          // (r)
                    var slice = best.narrow(0, i, len);
                    slice.copy_(torch.minimum(slice, blockMin));
                }
            }
        }
        return best.clamp_min_(0).sqrt_();
    }

    /// <summary>
    /// Compares the nearest-training distances of samples (N) with those of held-out test images (N'):
    /// quantiles of both and the number of samples closer than the closest test image.
    /// </summary>
    public static MemorisationReport Compare(Tensor sampleDistances, Tensor testDistances)
    {
        using var scope = torch.NewDisposeScope();
        var s = sampleDistances.detach().cpu().to(ScalarType.Float64);
        var t = testDistances.detach().cpu().to(ScalarType.Float64);
        if (s.numel() == 0 || t.numel() == 0) throw new GenSharpException("memorisation needs at least one sample and one test image");
        double threshold = t.min().item<double>();
        long flagged = s.lt(threshold).sum().item<long>();
        return new MemorisationReport(Quantiles(s), Quantiles(t), threshold, flagged, (double)flagged / s.numel());
    }

    static DistanceQuantiles Quantiles(Tensor x)
    {
        using var q = torch.quantile(x, torch.tensor(new[] { 0.0, 0.01, 0.05, 0.5 }, dtype: ScalarType.Float64));
        var v = q.data<double>().ToArray();
        return new DistanceQuantiles(v[0], v[1], v[2], v[3]);
    }
}
