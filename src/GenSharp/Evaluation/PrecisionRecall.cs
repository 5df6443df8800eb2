namespace GenSharp.Evaluation;

/// <summary>
/// Improved precision and recall (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
/// Assessing Generative Models", arXiv:1904.06991, eq. 1–2). Each set's manifold is the union of balls
/// around its points, each ball's radius the distance to that point's k-th nearest neighbour in the same
/// set. Precision = share of generated points inside the real manifold (fidelity); recall = share of
/// real points inside the generated manifold (diversity). Euclidean distances in feature space, float64,
/// computed with torch.cdist in row chunks so memory stays at chunk × N.
/// </summary>
public static class PrecisionRecall
{
    /// <summary>Rows of the distance matrix computed at once.</summary>
    const int Chunk = 1024;

    /// <summary>Precision and recall of <paramref name="generated"/> (M, D) against <paramref name="real"/> (N, D), k-NN radii with k = <paramref name="k"/> (3 in the paper).</summary>
    public static (double Precision, double Recall) Compute(Tensor real, Tensor generated, int k = 3)
    {
        if (real.dim() != 2 || generated.dim() != 2 || real.shape[1] != generated.shape[1])
            throw new ArgumentException($"feature sets must be (N, D) with the same D, got ({string.Join(", ", real.shape)}) and ({string.Join(", ", generated.shape)})");
        if (k < 1 || k >= real.shape[0] || k >= generated.shape[0])
            throw new GenSharpException($"precision/recall k must be in [1, set size − 1], got k = {k} for sets of {real.shape[0]} and {generated.shape[0]}");
        using var scope = torch.NewDisposeScope();
        var r = real.detach().cpu().to(ScalarType.Float64);
        var g = generated.detach().cpu().to(ScalarType.Float64);
        var realRadii = KnnRadii(r, k);         // (N)
        var genRadii = KnnRadii(g, k);          // (M)
        double precision = CoveredFraction(g, r, realRadii);
        double recall = CoveredFraction(r, g, genRadii);
        return (precision, recall);
    }

    /// <summary>Distance from each row of x (N, D) to its k-th nearest other row, (N).</summary>
    public static Tensor KnnRadii(Tensor x, int k)
    {
        var parts = new List<Tensor>();
        using (var scope = torch.NewDisposeScope())
        {
            for (long i = 0; i < x.shape[0]; i += Chunk)
            {
                var rows = x.narrow(0, i, Math.Min(Chunk, x.shape[0] - i));           // (c, D)
                var d = torch.cdist(rows, x);                                          // (c, N)
                // The k+1 smallest include the point itself (distance 0), so the k-th neighbour is the last.
                var (vals, _) = d.topk(k + 1, dim: 1, largest: false, sorted: true);   // (c, k+1)
                parts.Add(vals.select(1, k).MoveToOuterDisposeScope());
            }
        }
        var radii = torch.cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return radii;
    }

    /// <summary>Share of points q (M, D) that lie within radius[j] of some reference point ref[j] (N, D).</summary>
    public static double CoveredFraction(Tensor q, Tensor reference, Tensor radii)
    {
        long covered = 0;
        for (long i = 0; i < q.shape[0]; i += Chunk)
        {
            using var scope = torch.NewDisposeScope();
            var rows = q.narrow(0, i, Math.Min(Chunk, q.shape[0] - i));     // (c, D)
            var d = torch.cdist(rows, reference);                            // (c, N)
            covered += d.le(radii.unsqueeze(0)).any(1).sum().item<long>();
        }
        return (double)covered / q.shape[0];
    }
}
