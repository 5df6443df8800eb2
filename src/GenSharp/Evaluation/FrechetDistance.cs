namespace GenSharp.Evaluation;

/// <summary>
/// Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, "GANs Trained by a
/// Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", arXiv:1706.08500, eq. 6 — FID when
/// the features come from Inception, FD-cls here where they come from the domain classifier):
/// d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}).
/// </summary>
/// <remarks>
/// How the square root is taken, and why it is stable: the usual code computes sqrtm(Σ₁Σ₂) with a
/// general (Schur) matrix square root. Σ₁Σ₂ is not symmetric, so rounding gives it complex eigenvalues
/// and the result an imaginary part that has to be thrown away, and near-singular covariances (more
/// feature dimensions than samples, dead ReLU units) make it blow up. Here every step stays symmetric
/// positive semi-definite and uses only symmetric eigendecompositions (torch.linalg.eigh, float64):
/// (1) Σ₁ = V Λ Vᵀ and S = Σ₁^{1/2} = V diag(√max(λ, 0)) Vᵀ — eigenvalues that rounding pushed slightly
/// below 0 are clamped to 0, the exact value for a PSD matrix; (2) M = S Σ₂ S is symmetric PSD
/// (symmetrised as (M + Mᵀ)/2 against rounding) and similar to Σ₁Σ₂, so tr (Σ₁Σ₂)^{1/2} = tr M^{1/2}
/// = Σᵢ √max(μᵢ, 0) over M's eigenvalues μᵢ. eigh is backward stable for symmetric matrices and its
/// eigenvalues are real by construction, so no complex parts arise and singular covariances are fine.
/// The one loss of accuracy left is inherent to the square root: at a rank-deficient M the zero
/// eigenvalues come out as ±1e-16·‖M‖ and √ turns them into ~1e-8·√‖M‖ each, so FD is then accurate to
/// ~1e-8 relative (not 1e-16) — far below any difference between models.
/// </remarks>
public static class FrechetDistance
{
    /// <summary>Mean (D) and unbiased covariance (D, D) of features (N, D), in float64 on the CPU.</summary>
    public static (Tensor Mean, Tensor Covariance) Statistics(Tensor features)
    {
        if (features.dim() != 2) throw new ArgumentException($"features must be (N, D), got ({string.Join(", ", features.shape)})", nameof(features));
        if (features.shape[0] < 2) throw new GenSharpException($"the Fréchet distance needs at least 2 feature vectors per set, got {features.shape[0]}");
        using var scope = torch.NewDisposeScope();
        var x = features.detach().cpu().to(ScalarType.Float64);     // (N, D)
        var mu = x.mean(new long[] { 0 });                           // (D)
        var centred = x - mu;                                        // (N, D)
        var cov = centred.t().matmul(centred) / (x.shape[0] - 1);   // (D, D)
        return (mu.MoveToOuterDisposeScope(), cov.MoveToOuterDisposeScope());
    }

    /// <summary>Fréchet distance (squared, as FID reports it) between the Gaussians fitted to two feature sets (N₁, D) and (N₂, D).</summary>
    public static double Compute(Tensor featuresA, Tensor featuresB)
    {
        if (featuresA.dim() != 2 || featuresB.dim() != 2 || featuresA.shape[1] != featuresB.shape[1])
            throw new ArgumentException($"feature sets must be (N, D) with the same D, got ({string.Join(", ", featuresA.shape)}) and ({string.Join(", ", featuresB.shape)})");
        var (m1, c1) = Statistics(featuresA);
        var (m2, c2) = Statistics(featuresB);
        using (m1) using (c1) using (m2) using (c2)
            return Compute(m1, c1, m2, c2);
    }

    /// <summary>Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); means (D), covariances (D, D), any float dtype.</summary>
    public static double Compute(Tensor mean1, Tensor cov1, Tensor mean2, Tensor cov2)
    {
        long d = mean1.shape[0];
        foreach (var (t, name) in new[] { (cov1, "cov1"), (cov2, "cov2") })
            if (t.dim() != 2 || t.shape[0] != d || t.shape[1] != d)
                throw new ArgumentException($"{name} must be ({d}, {d}), got ({string.Join(", ", t.shape)})", name);
        if (mean2.dim() != 1 || mean2.shape[0] != d) throw new ArgumentException($"mean2 must be ({d})", nameof(mean2));
        using var scope = torch.NewDisposeScope();
        var mu1 = mean1.detach().cpu().to(ScalarType.Float64);
        var mu2 = mean2.detach().cpu().to(ScalarType.Float64);
        var s1 = Symmetric(cov1.detach().cpu().to(ScalarType.Float64));   // (D, D)
        var s2 = Symmetric(cov2.detach().cpu().to(ScalarType.Float64));   // (D, D)
        var root1 = SqrtPsd(s1);                                           // Σ₁^{1/2}, (D, D)
        var m = Symmetric(root1.matmul(s2).matmul(root1));                 // Σ₁^{1/2} Σ₂ Σ₁^{1/2}, symmetric PSD
        var (eig, _) = torch.linalg.eigh(m);                               // real eigenvalues, ascending
        var traceSqrt = eig.clamp_min(0).sqrt().sum();                     // tr M^{1/2}
        var diff = mu1 - mu2;
        var d2 = diff.dot(diff) + s1.trace() + s2.trace() - 2 * traceSqrt;
        // Rounding can leave −1e-12 for identical sets; the distance itself is never negative.
        return Math.Max(0.0, d2.item<double>());
    }

    /// <summary>Square root of a symmetric PSD matrix by eigendecomposition, negative eigenvalues (rounding) clamped to 0.</summary>
    public static Tensor SqrtPsd(Tensor symmetric)
    {
        using var scope = torch.NewDisposeScope();
        var (eig, vecs) = torch.linalg.eigh(symmetric);                    // (D), (D, D) columns = eigenvectors
        var root = (vecs * eig.clamp_min(0).sqrt().unsqueeze(0)).matmul(vecs.t()); // V diag(√λ) Vᵀ
        return root.MoveToOuterDisposeScope();
    }

    static Tensor Symmetric(Tensor a) => (a + a.t()) * 0.5;
}
