namespace GenSharp.Sampling;

/// <summary>
/// Bernoulli draws for the energy-based and binary families: x ~ Bernoulli(p) elementwise, as 1 where a uniform draw
/// u ∈ [0, 1) falls below p and 0 elsewhere, so P(x = 1) = p for every p in [0, 1] (0 never fires, 1 always does).
/// </summary>
/// <remarks>
/// The same draws as <c>torch.bernoulli(p)</c>, bit for bit: libtorch's CPU kernel takes one uniform per element from
/// the generator, in order, and fires where it falls below p; <c>rand</c> takes the same uniforms in the same order
/// (<c>BernoulliSamplingTests</c> holds the two equal for float32 and float64, with and without a generator). What
/// differs is the cost: on a (100, 784) batch on 2 threads, libtorch 2.10's <c>bernoulli</c> with a tensor of
/// probabilities takes 0.85 ms, <c>rand</c> and an in-place <c>lt_</c> 0.17 ms (PyTorch 2.14's <c>bernoulli</c>: 0.20 ms;
/// docs/benchmarks.md, "Bernoulli draws").
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
