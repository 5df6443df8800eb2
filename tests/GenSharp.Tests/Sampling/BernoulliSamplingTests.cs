using GenSharp.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// <see cref="BernoulliSampling"/> held to libtorch's own <c>bernoulli</c> (the same draws from the same seed) and to the
/// Bernoulli distribution itself: per-element frequencies against p, the spread of row sums against the binomial
/// variance n·p·(1 − p) (which independence between elements implies), and the edges p = 0 and p = 1.
/// </summary>
public class BernoulliSamplingTests
{
    [Fact]
    public void Frequencies_match_every_probability_within_five_standard_errors()
    {
        torch.manual_seed(11);
        double[] ps = { 0, 1e-3, 0.1, 0.3, 0.5, 0.77, 0.999, 1 };
        const int n = 200_000;
        using var probs = torch.tensor(ps, dtype: ScalarType.Float32).unsqueeze(1).expand(ps.Length, n).contiguous();
        using var x = BernoulliSampling.Sample(probs);
        var means = x.mean(new long[] { 1 }).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < ps.Length; i++)
        {
            double p = ps[i], se = Math.Sqrt(p * (1 - p) / n);
            if (p is 0 or 1) Assert.Equal(p, means[i]);
            else Assert.True(Math.Abs(means[i] - p) < 5 * se, $"p = {p}: frequency {means[i]:F5}, {Math.Abs(means[i] - p) / se:F1} standard errors away");
        }
        using var values = x.unique().Item1;
        Assert.Equal(new float[] { 0, 1 }, values.data<float>().ToArray());
    }

    [Fact]
    public void Row_sums_have_the_binomial_variance_so_elements_are_independent()
    {
        // 4,000 rows of 784 draws at p = 0.3: each row sum is Binomial(784, 0.3), variance 164.64. Draws that were
        // correlated along a row (a repeated or shifted uniform stream) would move the variance far from it.
        torch.manual_seed(5);
        using var probs = torch.full(4000, 784, 0.3f);
        using var sums = BernoulliSampling.Sample(probs).sum(1).to_type(ScalarType.Float64);
        double mean = sums.mean().item<double>(), variance = sums.var().item<double>();
        Assert.InRange(mean, 784 * 0.3 - 1, 784 * 0.3 + 1);
        // The sample variance of 4,000 near-normal values has a relative standard error of √(2/3999) ≈ 2.2 %.
        Assert.InRange(variance, 164.64 * 0.9, 164.64 * 1.1);
    }

    [Fact]
    public void Each_element_follows_its_own_probability()
    {
        // Alternating columns of p = 0.05 and 0.95: a sampler that ignored the position of p would mix the two.
        torch.manual_seed(3);
        using var probs = torch.tensor(new float[] { 0.05f, 0.95f }).repeat(50_000, 16);
        using var x = BernoulliSampling.Sample(probs);
        using var even = x.index(TensorIndex.Colon, TensorIndex.Slice(0, null, 2)).mean();
        using var odd = x.index(TensorIndex.Colon, TensorIndex.Slice(1, null, 2)).mean();
        Assert.InRange(even.item<float>(), 0.048f, 0.052f);
        Assert.InRange(odd.item<float>(), 0.948f, 0.952f);
    }

    [Fact]
    public void Draws_what_torch_bernoulli_draws_from_the_same_seed_or_generator()
    {
        // libtorch's CPU bernoulli fires where the element's uniform falls below p, taking the uniforms in order; the
        // same uniforms come out of rand, so the two agree bit for bit (this would fail if either changed its stream).
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            torch.manual_seed(2);
            using var p = torch.rand(new long[] { 300, 777 }, dtype: dtype);
            torch.manual_seed(5);
            using var expected = torch.bernoulli(p);
            torch.manual_seed(5);
            using var actual = BernoulliSampling.Sample(p);
            Assert.True(expected.equal(actual).all().item<bool>(), $"{dtype}: draws differ from torch.bernoulli's");

            using var g1 = new torch.Generator(9);
            using var g2 = new torch.Generator(9);
            using var fromG1 = torch.bernoulli(p, generator: g1);
            using var fromG2 = BernoulliSampling.Sample(p, g2);
            Assert.True(fromG1.equal(fromG2).all().item<bool>(), $"{dtype}: draws from a generator differ from torch.bernoulli's");
        }
    }

    [Fact]
    public void A_seed_repeats_the_draws_and_a_generator_leaves_the_global_stream_alone()
    {
        using var probs = torch.full(64, 100, 0.5f);
        torch.manual_seed(42);
        using var a = BernoulliSampling.Sample(probs);
        torch.manual_seed(42);
        using var b = BernoulliSampling.Sample(probs);
        using var c = BernoulliSampling.Sample(probs);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());

        using var g1 = new torch.Generator(7);
        using var g2 = new torch.Generator(7);
        torch.manual_seed(1);
        using var before = torch.rand(8);
        torch.manual_seed(1);
        using var d = BernoulliSampling.Sample(probs, g1);
        using var after = torch.rand(8);
        using var e = BernoulliSampling.Sample(probs, g2);
        Assert.True(d.equal(e).all().item<bool>());
        Assert.True(before.equal(after).all().item<bool>(), "the generator's draws must not come from the global stream");
    }

    [Fact]
    public void Keeps_shape_and_dtype_carries_no_gradient_and_refuses_integers()
    {
        using var p64 = torch.full(new long[] { 2, 3, 5 }, 0.5, dtype: ScalarType.Float64).requires_grad_(true);
        using var x = BernoulliSampling.Sample(p64);
        Assert.Equal(new long[] { 2, 3, 5 }, x.shape);
        Assert.Equal(ScalarType.Float64, x.dtype);
        Assert.False(x.requires_grad);
        Assert.False(p64.grad is not null);

        using var ints = torch.ones(3, dtype: ScalarType.Int64);
        var error = Assert.Throws<ArgumentException>(() => BernoulliSampling.Sample(ints));
        Assert.Contains("floating-point", error.Message);
    }
}
