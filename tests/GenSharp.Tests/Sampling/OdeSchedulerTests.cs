using GenSharp.Models.Diffusion;
using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Euler, Euler ancestral and DPM-Solver++(2M) on Gaussian data x0 ~ N(μ, s²), where everything is known in closed
/// form: x_t ~ N(√ᾱ μ, ᾱ s² + 1 − ᾱ), the exact noise prediction E[ε | x_t] = √(1−ᾱ)(x_t − √ᾱ μ)/(ᾱ s² + 1 − ᾱ), and
/// the probability-flow ODE keeps (y − μ)/√(s² + σ²) constant for y = x_t/√ᾱ, σ² = (1 − ᾱ)/ᾱ.
/// </summary>
public class OdeSchedulerTests
{
    const double Mu = 0.3, S = 0.5;
    readonly ITestOutputHelper _out;

    public OdeSchedulerTests(ITestOutputHelper output) { TorchRuntime.EnsureReady(); _out = output; }

    static readonly NoiseSchedule Linear = new(BetaSchedule.Linear, 1000);

    /// <summary>The exact ε prediction of the Gaussian data distribution at timestep t.</summary>
    static Tensor ExactEpsilon(Tensor x, long t)
    {
        double ab = Linear.AlphasCumprod[t];
        return Math.Sqrt(1 - ab) * (x - Math.Sqrt(ab) * Mu) / (ab * S * S + 1 - ab);
    }

    /// <summary>The probability-flow ODE's exact solution from timestep a to timestep b.</summary>
    static Tensor ExactFlow(Tensor xa, long a, long b)
    {
        double aa = Linear.AlphasCumprod[a], ab = Linear.AlphasCumprod[b];
        double sa2 = (1 - aa) / aa, sb2 = (1 - ab) / ab;
        var ya = xa / Math.Sqrt(aa);
        return Math.Sqrt(ab) * (Mu + (ya - Mu) * Math.Sqrt((S * S + sb2) / (S * S + sa2)));
    }

    /// <summary>Runs the scheduler over its timesteps until it reaches <paramref name="stopAt"/> (−1: to the end).</summary>
    static Tensor Run(DiffusionScheduler s, Tensor xT, long stopAt = -1, Generator? gen = null)
    {
        var x = xT.clone();
        foreach (var t in s.Timesteps)
        {
            if (t == stopAt) break;
            var step = s.Step(ExactEpsilon(x, t), t, x, gen);
            x.Dispose(); step.PredictedX0.Dispose();
            x = step.PrevSample;
        }
        return x;
    }

    /// <summary>n + 1 evenly spaced timesteps from 999 down to 99.</summary>
    static long[] Even(int n) => Enumerable.Range(0, n + 1).Select(k => 999L - k * 900L / n).ToArray();

    static double MaxErr(DiffusionScheduler s, int n)
    {
        s.SetTimesteps(Even(n));
        using var xT = torch.linspace(-3, 3, 61, dtype: ScalarType.Float64).reshape(61, 1);
        using var x = Run(s, xT, stopAt: 99);
        using var exact = ExactFlow(xT, 999, 99);
        return (x - exact).abs().max().item<double>();
    }

    [Theory]
    [InlineData("euler", 1.0)]
    [InlineData("dpm++2m", 2.0)]
    public void DeterministicSolversConvergeToTheExactOdeSolutionWithTheirOrder(string name, double order)
    {
        var s = Schedulers.Create(name, Linear, PredictionType.Epsilon, clipSample: false);
        var steps = new[] { 10, 20, 50, 100, 180, 300, 450, 900 };
        var errors = steps.Select(n => MaxErr(s, n)).ToArray();
        for (int i = 0; i < steps.Length; i++) _out.WriteLine($"{name} n={steps[i]} max error {errors[i]:E3}");
        for (int i = 1; i < steps.Length; i++) Assert.True(errors[i] < errors[i - 1], $"{name}: error did not fall from n={steps[i - 1]} to n={steps[i]}");
        // Observed order on the last refinement (450 → 900 steps, the asymptotic regime), and error × n^order stays
        // within a narrow band from 100 steps on (a lower order would make it grow with n).
        double observed = Math.Log(errors[^2] / errors[^1]) / Math.Log(2.0);
        _out.WriteLine($"{name} observed order {observed:F3}");
        Assert.InRange(observed, order - 0.2, order + 0.2);
        var scaled = steps.Zip(errors).Where(p => p.First >= 100).Select(p => p.Second * Math.Pow(p.First, order)).ToArray();
        Assert.True(scaled.Max() / scaled.Min() < 3, $"{name}: error·n^{order} ranges {scaled.Min()} … {scaled.Max()}");
        (s as IDisposable)?.Dispose();
    }

    [Fact]
    public void EulerIsDdimWithEtaZeroAndEulerAncestralIsDdimWithEtaOne()
    {
        using var xT = torch.linspace(-3, 3, 13, dtype: ScalarType.Float64).reshape(13, 1);
        var euler = new EulerScheduler(Linear, clipSample: false);
        var ddim = new DdimScheduler(Linear, eta: 0, clipSample: false);
        euler.SetTimesteps(7); ddim.SetTimesteps(7);
        using (var a = Run(euler, xT)) using (var b = Run(ddim, xT))
            Assert.True((a - b).abs().max().item<double>() < 1e-10);

        var ancestral = new EulerAncestralScheduler(Linear, clipSample: false);
        var ddim1 = new DdimScheduler(Linear, eta: 1, clipSample: false);
        ancestral.SetTimesteps(7); ddim1.SetTimesteps(7);
        using var g1 = new Generator(5); using var g2 = new Generator(5);
        using var c = Run(ancestral, xT, gen: g1);
        using var d = Run(ddim1, xT, gen: g2);
        Assert.True((c - d).abs().max().item<double>() < 1e-9);
    }

    [Fact]
    public void EulerAncestralReachesTheDataMarginalAndRepeatsWithTheSeed()
    {
        // x_T drawn from the exact marginal at t = 999.
        double aT = Linear.AlphasCumprod[999];
        using var g0 = new Generator(11);
        using var xT = Math.Sqrt(aT) * Mu + Math.Sqrt(aT * S * S + 1 - aT) * torch.randn(new long[] { 10000, 1 }, dtype: ScalarType.Float64, generator: g0);
        var s = new EulerAncestralScheduler(Linear, clipSample: false);
        s.SetTimesteps(1000);
        using var g1 = new Generator(3); using var g2 = new Generator(3); using var g3 = new Generator(4);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var x = Run(s, xT, gen: g1);
        _out.WriteLine($"1000 steps in {clock.Elapsed.TotalSeconds:F2}s");
        double mean = x.mean().item<double>(), std = x.std().item<double>();
        _out.WriteLine($"euler-a 1000 steps: mean {mean:F4} (μ {Mu}), std {std:F4} (s {S})");
        Assert.InRange(mean, Mu - 0.015, Mu + 0.015);
        Assert.InRange(std, S * 0.98, S * 1.02);
        // The intermediate marginal at t = 499 as well: N(√ᾱ μ, ᾱ s² + 1 − ᾱ).
        s.SetTimesteps(Enumerable.Range(0, 11).Select(k => 999L - 50L * k).ToArray());   // 999, 949, ..., 499
        using var mid = Run(s, xT, stopAt: 499, gen: g3);
        double a499 = Linear.AlphasCumprod[499];
        Assert.InRange(mid.mean().item<double>(), Math.Sqrt(a499) * Mu - 0.015, Math.Sqrt(a499) * Mu + 0.015);
        Assert.InRange(mid.std().item<double>(), 0.97 * Math.Sqrt(a499 * S * S + 1 - a499), 1.03 * Math.Sqrt(a499 * S * S + 1 - a499));
        // Same seed, same samples; another seed, other samples.
        s.SetTimesteps(1000);
        using var again = Run(s, xT, gen: g2);
        Assert.Equal(0.0, (x - again).abs().max().item<double>());
        using var g4 = new Generator(4);
        using var other = Run(s, xT, gen: g4);
        Assert.True((x - other).abs().max().item<double>() > 0.1);
    }

    [Fact]
    public void DeterministicSolversMapTheNoiseMarginalOntoTheData()
    {
        double aT = Linear.AlphasCumprod[999];
        using var g0 = new Generator(12);
        using var xT = Math.Sqrt(aT) * Mu + Math.Sqrt(aT * S * S + 1 - aT) * torch.randn(new long[] { 20000, 1 }, dtype: ScalarType.Float64, generator: g0);
        foreach (var name in new[] { "euler", "dpm++2m" })
        {
            var s = Schedulers.Create(name, Linear, PredictionType.Epsilon, clipSample: false);
            s.SetTimesteps(500);
            using var x = Run(s, xT);
            double std = x.std().item<double>();
            _out.WriteLine($"{name} 500 steps to t=0: mean {x.mean().item<double>():F4}, std {std:F4}");
            Assert.InRange(x.mean().item<double>(), Mu - 0.02, Mu + 0.02);
            Assert.InRange(std, S * 0.98, S * 1.02);
        }
    }

    [Fact]
    public void DpmSolverDropsItsHistoryWhenAChainRestarts()
    {
        using var xT = torch.linspace(-2, 2, 5, dtype: ScalarType.Float64).reshape(5, 1);
        var s = new DpmSolverMultistepScheduler(Linear, clipSample: false);
        s.SetTimesteps(10);
        using var first = Run(s, xT);
        // Abandon a chain half way, then run a full one: it must equal the first run.
        var x = xT.clone();
        foreach (var t in s.Timesteps.Take(4)) x = s.Step(ExactEpsilon(x, t), t, x).PrevSample;
        using var second = Run(s, xT);
        Assert.Equal(0.0, (first - second).abs().max().item<double>());
        s.Dispose();
    }

    [Fact]
    public void NamesAndBadSettingsGiveOneLineErrors()
    {
        foreach (var name in new[] { "euler", "euler-a", "dpm++2m" })
        {
            Assert.Contains(name, Schedulers.Names);
            Assert.Equal(name, Schedulers.Create(name, Linear, PredictionType.Epsilon).Name);
            var e = Assert.Throws<GenSharpException>(() => Schedulers.Create(name, Linear, PredictionType.Epsilon, eta: 0.5));
            Assert.Contains("only to the ddim", e.Message);
        }
        var s = new EulerScheduler(Linear);
        Assert.Throws<GenSharpException>(() => s.SetTimesteps(new long[] { 5, 7 }));
        Assert.Throws<GenSharpException>(() => s.SetTimesteps(new long[] { 1000 }));
        Assert.Throws<ParameterException>(() => new DiffusionSamplerOptions { Scheduler = "heun" }.Validate());
        new DiffusionSamplerOptions { Scheduler = "dpm++2m" }.Validate();
    }
}
