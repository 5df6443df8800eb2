namespace GenSharp.Evaluation;

/// <summary>
/// Kernel Inception Distance on arbitrary features (Bińkowski et al. 2018, "Demystifying MMD GANs",
/// arXiv:1801.01401, eq. 3 and §5): the unbiased estimator of the squared maximum mean discrepancy with
/// the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets.
/// </summary>
public static class Kid
{
    /// <summary>k(x, y) = (xᵀy / d + 1)³ for all pairs: (N, D) × (M, D) → (N, M).</summary>
    public static Tensor PolynomialKernel(Tensor x, Tensor y)
    {
        long d = x.shape[1];
        return (x.matmul(y.t()) / d + 1).pow(3);
    }

    /// <summary>
    /// Unbiased MMD² between two equal-size samples x, y (m, D), eq. 3 of Bińkowski et al.:
    /// 1/(m(m−1)) Σ_{i≠j} [k(xᵢ,xⱼ) + k(yᵢ,yⱼ)] − 2/m² Σ_{i,j} k(xᵢ,yⱼ).
    /// The diagonal terms k(xᵢ,xᵢ) are left out, which removes the bias of the plug-in estimate; the
    /// value can therefore be slightly negative when the distributions agree.
    /// </summary>
    public static double UnbiasedMmd2(Tensor x, Tensor y)
    {
        long m = x.shape[0];
        if (m < 2 || y.shape[0] != m) throw new ArgumentException($"need two samples of the same size ≥ 2, got {x.shape[0]} and {y.shape[0]}");
        using var scope = torch.NewDisposeScope();
        var a = x.to(ScalarType.Float64);
        var b = y.to(ScalarType.Float64);
        var kxx = PolynomialKernel(a, a);   // (m, m)
        var kyy = PolynomialKernel(b, b);   // (m, m)
        var kxy = PolynomialKernel(a, b);   // (m, m)
        var offXX = kxx.sum() - kxx.diagonal().sum();
        var offYY = kyy.sum() - kyy.diagonal().sum();
        var mmd = (offXX + offYY) / (m * (m - 1.0)) - kxy.sum() * (2.0 / (m * (double)m));
        return mmd.item<double>();
    }

    /// <summary>
    /// KID between feature sets a (N₁, D) and b (N₂, D): <paramref name="subsets"/> times, draws
    /// <paramref name="subsetSize"/> items from each set without replacement (seeded, independent of the
    /// global RNG) and computes <see cref="UnbiasedMmd2"/>. Defaults follow the literature: 100 subsets of
    /// min(N₁, N₂, 1000) items. When the subset size equals N every subset holds the same items, so the
    /// spread is 0 and says nothing; pass a smaller subset size to get a meaningful standard error.
    /// </summary>
    public static KidResult Compute(Tensor a, Tensor b, int subsets = 100, int? subsetSize = null, long seed = 0)
    {
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException($"feature sets must be (N, D) with the same D, got ({string.Join(", ", a.shape)}) and ({string.Join(", ", b.shape)})");
        long n = Math.Min(a.shape[0], b.shape[0]);
        int m = subsetSize ?? (int)Math.Min(n, 1000);
        if (m < 2 || m > n) throw new GenSharpException($"KID subset size must be in [2, {n}] (the smaller set's size), got {m}");
        if (subsets < 1) throw new GenSharpException($"KID subsets must be ≥ 1, got {subsets}");
        using var scope = torch.NewDisposeScope();
        var x = a.detach().cpu().to(ScalarType.Float64);
        var y = b.detach().cpu().to(ScalarType.Float64);
        using var gen = new Generator((ulong)seed);
        var values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            using var inner = torch.NewDisposeScope();
            var ia = torch.randperm(x.shape[0], generator: gen).narrow(0, 0, m);
            var ib = torch.randperm(y.shape[0], generator: gen).narrow(0, 0, m);
            values[s] = UnbiasedMmd2(x.index_select(0, ia), y.index_select(0, ib));
        }
        double mean = values.Average();
        double std = subsets > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (subsets - 1)) : 0;
        return new KidResult(mean, std, std / Math.Sqrt(subsets), subsets, m);
    }
}
