namespace GenSharp.Sampling;

/// <summary>
/// Bernoulli draws for the energy-based and binary families: x ~ Bernoulli(p) elementwise, as 1 where a uniform draw
/// u ∈ [0, 1) falls below p and 0 elsewhere, so P(x = 1) = p for every p in [0, 1] (0 never fires, 1 always does).
/// </summary>
/// <remarks>
/// The same distribution as <c>torch.bernoulli(p)</c>, reached through two kernels that are much cheaper: libtorch
/// 2.10's <c>bernoulli</c> with a tensor of probabilities walks the elements one at a time through a distribution
/// object, while <c>rand</c> fills a block of uniforms and <c>lt_</c> is a vectorised comparison written in place
/// (5× faster on a (100, 784) batch on 2 threads; docs/benchmarks.md, "Bernoulli draws"). The stream of draws for a
/// given seed differs from <c>torch.bernoulli</c>'s; for a given seed it repeats.
/// </remarks>
public static class BernoulliSampling
{
    /// <summary>
    /// A tensor of <paramref name="probs"/>'s shape, dtype and device holding 0/1 draws with P(1) = p. Values of
    /// <paramref name="probs"/> are not checked (the callers pass sigmoids or clamped intensities); the result carries
    /// no gradient. With <paramref name="generator"/> (a CPU generator), the uniforms come from it.
    /// </summary>
    public static Tensor Sample(Tensor probs, torch.Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(probs);
        if (!probs.is_floating_point())
            throw new ArgumentException($"Bernoulli probabilities must be a floating-point tensor, got {probs.dtype}", nameof(probs));
        using var p = probs.detach();
        if (generator is null || p.device_type == DeviceType.CPU)
            return torch.rand(p.shape, dtype: p.dtype, device: p.device, generator: generator).lt_(p);
        using var u = torch.rand(p.shape, dtype: p.dtype, generator: generator);
        return u.to(p.device).lt_(p);
    }
}
