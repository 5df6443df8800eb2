using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class SchedulerTests
{
    public SchedulerTests() => TorchRuntime.EnsureReady();

    static double MaxAbs(Tensor a, Tensor b) => (a - b).abs().max().to(ScalarType.Float64).item<double>();

    // ------------------------------------------------------------------ schedules

    [Fact]
    public void LinearScheduleMatchesClosedForm()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 1000);
        Assert.Equal(1000, s.Timesteps);
        Assert.Equal(1000, s.Betas.Length);
        double alphaBar = 1.0;
        for (int t = 0; t < 1000; t++)
        {
            double beta = 1e-4 + (0.02 - 1e-4) * t / 999.0;
            alphaBar *= 1.0 - beta;
            Assert.Equal(beta, s.Betas[t], 12);
            Assert.Equal(1.0 - beta, s.Alphas[t], 12);
            Assert.Equal(alphaBar, s.AlphasCumprod[t], 12);
        }
        // Known endpoints: β_0 = 1e-4, β_999 = 0.02, and ᾱ_999 ≈ 4.04e-5 (Ho et al.'s schedule leaves almost no signal).
        Assert.Equal(1e-4, s.Betas[0], 15);
        Assert.Equal(0.02, s.Betas[999], 15);
        Assert.InRange(s.AlphasCumprod[999], 4.0e-5, 4.1e-5);
        // Custom range.
        var c = new NoiseSchedule(BetaSchedule.Linear, 5, 0.1, 0.5);
        Assert.Equal(new[] { 0.1, 0.2, 0.3, 0.4, 0.5 }, c.Betas.Select(b => Math.Round(b, 12)));
    }

    [Fact]
    public void CosineScheduleMatchesClosedForm()
    {
        const int T = 1000;
        var s = new NoiseSchedule(BetaSchedule.Cosine, T);
        // Independent: ᾱ_t = f(t + 1)/f(0) directly (index t = 0 is the first noising step, i.e. continuous time (t+1)/T).
        double F(double u) { double c = Math.Cos((u + 0.008) / 1.008 * Math.PI / 2); return c * c; }
        for (int t = 0; t < T - 1; t++)
        {
            double expected = F((t + 1.0) / T) / F(0);
            Assert.True(Math.Abs(s.AlphasCumprod[t] - expected) <= 1e-12 + 1e-9 * expected,
                $"ᾱ[{t}] = {s.AlphasCumprod[t]} vs {expected}");
            Assert.Equal(1.0 - s.Betas[t], s.Alphas[t], 14);
            Assert.True(s.Betas[t] < 0.999);
        }
        // f(1) = 0, so the last β would be 1: it is clipped to 0.999.
        Assert.Equal(0.999, s.Betas[T - 1], 14);
        Assert.Equal(s.AlphasCumprod[T - 2] * 0.001, s.AlphasCumprod[T - 1], 15);
        // Betas increase monotonically and start small.
        for (int t = 1; t < T; t++) Assert.True(s.Betas[t] >= s.Betas[t - 1]);
        Assert.InRange(s.Betas[0], 1e-5, 1e-4);
    }

    [Fact]
    public void ScheduleArraysAreCopies()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 10);
        s.Betas[0] = 0.9;
        s.AlphasCumprod[3] = 0.0;
        Assert.Equal(1e-4, s.Betas[0], 15);
        Assert.NotEqual(0.0, s.AlphasCumprod[3]);
    }

    [Theory]
    [InlineData(0, 1e-4, 0.02, "timesteps")]
    [InlineData(10, 0.0, 0.02, "beta_start")]
    [InlineData(10, 0.1, 0.05, "beta_end")]
    [InlineData(10, 1e-4, 1.0, "beta_end")]
    public void ScheduleRejectsBadSettings(int timesteps, double start, double end, string field)
    {
        var e = Assert.Throws<GenSharpException>(() => new NoiseSchedule(BetaSchedule.Linear, timesteps, start, end));
        Assert.StartsWith(field, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    // ------------------------------------------------------------------ q(x_t | x0) and its inverses

    [Fact]
    public void AddNoiseMatchesFormulaPerSample()
    {
        var s = new NoiseSchedule(BetaSchedule.Cosine, 50);
        torch.manual_seed(1);
        var x0 = torch.rand(4, 2, 3, 3) * 2 - 1;
        var eps = torch.randn(4, 2, 3, 3);
        var t = torch.tensor(new long[] { 0, 7, 31, 49 });
        var xt = s.AddNoise(x0, eps, t);
        Assert.Equal(x0.shape, xt.shape);
        Assert.Equal(ScalarType.Float32, xt.dtype);
        var ab = s.AlphasCumprod;
        long[] ts = { 0, 7, 31, 49 };
        for (int i = 0; i < 4; i++)
        {
            var expected = x0[i] * Math.Sqrt(ab[ts[i]]) + eps[i] * Math.Sqrt(1 - ab[ts[i]]);
            Assert.True(MaxAbs(xt[i], expected) < 1e-6, $"sample {i}");
        }
        // A single timestep broadcasts over the batch, and the scheduler's convenience overload agrees.
        var single = s.AddNoise(x0, eps, torch.tensor(new long[] { 31 }));
        var viaScheduler = new DdimScheduler(s).AddNoise(x0, eps, 31);
        var expected31 = x0 * Math.Sqrt(ab[31]) + eps * Math.Sqrt(1 - ab[31]);
        Assert.True(MaxAbs(single, expected31) < 1e-6);
        Assert.True(MaxAbs(viaScheduler, expected31) < 1e-6);
        // Velocity target by its definition.
        var v = s.VelocityTarget(x0, eps, t);
        for (int i = 0; i < 4; i++)
        {
            var expected = eps[i] * Math.Sqrt(ab[ts[i]]) - x0[i] * Math.Sqrt(1 - ab[ts[i]]);
            Assert.True(MaxAbs(v[i], expected) < 1e-6, $"v of sample {i}");
        }
    }

    [Fact]
    public void RenoiseComposesWithAddNoiseToTheMarginal()
    {
        // x_s ~ q(x_s | x0) then x_t ~ q(x_t | x_s) must be distributed as q(x_t | x0) = N(√ᾱ_t·x0, (1 − ᾱ_t)I).
        var s = new NoiseSchedule(BetaSchedule.Cosine, 100);
        torch.manual_seed(2);
        const int draws = 200_000;
        var x0 = torch.full(draws, 0.7f);
        var xs = s.AddNoise(x0, torch.randn(draws), torch.tensor(new long[] { 20 }));
        var xt = s.Renoise(xs, torch.randn(draws), 20, 70);
        double ab = s.AlphasCumprod[70];
        // Standard errors at 200k draws: ~0.002 for the mean, ~0.003 for the variance; a wrong ratio moves both by > 0.05.
        Assert.InRange(xt.mean().item<float>() - Math.Sqrt(ab) * 0.7, -0.01, 0.01);
        Assert.InRange(xt.var().item<float>() - (1 - ab), -0.015, 0.015);
        // From clean data (s = −1) it is AddNoise itself.
        var eps = torch.randn(5);
        var a = s.Renoise(x0.narrow(0, 0, 5), eps, -1, 40);
        var b = s.AddNoise(x0.narrow(0, 0, 5), eps, torch.tensor(new long[] { 40 }));
        Assert.True((a - b).abs().max().item<float>() < 1e-6);
        Assert.Contains("s < t", Assert.Throws<GenSharpException>(() => s.Renoise(eps, eps, 40, 40)).Message);
    }

    [Fact]
    public void RePaintPlanWalksSegmentsResampleTimes()
    {
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, RePaintPlan.Positions(4, 2, 1));
        Assert.Equal(new[] { 0, 1, 2, 0, 1, 2, 3, 4, 2, 3, 4 }, RePaintPlan.Positions(4, 2, 2));
        Assert.Equal(new[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 2, 3, 2, 3 }, RePaintPlan.Positions(3, 2, 3));   // a short last segment
        foreach (var (n, j, r) in new[] { (50, 10, 5), (7, 3, 2), (1, 1, 4), (100, 100, 1) })
        {
            var plan = RePaintPlan.Positions(n, j, r);
            Assert.Equal(0, plan[0]);
            Assert.Equal(n, plan[^1]);
            int down = plan.Zip(plan.Skip(1)).Count(p => p.Second == p.First + 1);
            Assert.Equal(RePaintPlan.NetworkCalls(n, j, r), down);
            Assert.All(plan.Zip(plan.Skip(1)), p => Assert.True(p.Second == p.First + 1 || p.Second < p.First));
        }
        var e = Assert.Throws<ParameterException>(() => RePaintPlan.Positions(5, 6, 2));
        Assert.Equal("jump", e.Parameter);
        Assert.Contains("must be in [1, 5]", e.Detail);
    }

    [Fact]
    public void AddNoiseRejectsBadTimesteps()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 10);
        var x = torch.zeros(2, 3);
        Assert.Contains("out of range", Assert.Throws<GenSharpException>(() => s.AddNoise(x, x, torch.tensor(new long[] { 0, 10 }))).Message);
        Assert.Contains("out of range", Assert.Throws<GenSharpException>(() => s.AddNoise(x, x, torch.tensor(new long[] { -1, 3 }))).Message);
        Assert.Contains("batch size", Assert.Throws<GenSharpException>(() => s.AddNoise(x, x, torch.tensor(new long[] { 1, 2, 3 }))).Message);
        Assert.Contains("int64", Assert.Throws<GenSharpException>(() => s.AddNoise(x, x, torch.tensor(new[] { 1f, 2f }))).Message);
        Assert.Contains("same shape", Assert.Throws<GenSharpException>(() => s.AddNoise(x, torch.zeros(2, 4), torch.tensor(new long[] { 1, 2 }))).Message);
    }

    [Theory]
    [InlineData(PredictionType.Epsilon, BetaSchedule.Linear)]
    [InlineData(PredictionType.V, BetaSchedule.Linear)]
    [InlineData(PredictionType.Epsilon, BetaSchedule.Cosine)]
    [InlineData(PredictionType.V, BetaSchedule.Cosine)]
    public void PredictionsInvertAddNoise(PredictionType type, BetaSchedule kind)
    {
        var s = new NoiseSchedule(kind, 1000);
        torch.manual_seed(2);
        // float64 so the check is about the algebra, not float32 cancellation at ᾱ ≈ 0.
        var x0 = torch.rand(new long[] { 6, 1, 4, 4 }, dtype: ScalarType.Float64) * 2 - 1;
        var eps = torch.randn(new long[] { 6, 1, 4, 4 }, dtype: ScalarType.Float64);
        var t = torch.tensor(new long[] { 0, 1, 250, 500, 990, 998 });
        var xt = s.AddNoise(x0, eps, t);
        var output = type == PredictionType.Epsilon ? eps : s.VelocityTarget(x0, eps, t);
        var x0Hat = s.PredictX0(output, xt, t, type);
        var epsHat = s.PredictEpsilon(output, xt, t, type);
        Assert.True(MaxAbs(x0Hat, x0) < 1e-9, $"x0 error {MaxAbs(x0Hat, x0)}");
        Assert.True(MaxAbs(epsHat, eps) < 1e-9, $"ε error {MaxAbs(epsHat, eps)}");
        // PredictEpsilon returns a new tensor even for ε-prediction.
        Assert.NotEqual(output.Handle, epsHat.Handle);

        // Same in float32 at moderate noise levels.
        var x0f = x0.to(ScalarType.Float32);
        var epsf = eps.to(ScalarType.Float32);
        var tf = torch.tensor(new long[] { 0, 10, 100, 300, 600, 900 });
        var xtf = s.AddNoise(x0f, epsf, tf);
        var outf = type == PredictionType.Epsilon ? epsf : s.VelocityTarget(x0f, epsf, tf);
        Assert.True(MaxAbs(s.PredictX0(outf, xtf, tf, type), x0f) < 1e-3);
        Assert.True(MaxAbs(s.PredictEpsilon(outf, xtf, tf, type), epsf) < 1e-3);
    }

    // ------------------------------------------------------------------ timesteps

    [Fact]
    public void TimestepsDefaultToAllAndStrideTrailing()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 1000);
        foreach (var sched in new DiffusionScheduler[] { new DdpmScheduler(s), new DdimScheduler(s) })
        {
            Assert.Equal(Enumerable.Range(0, 1000).Reverse().Select(i => (long)i), sched.Timesteps);
            Assert.Equal(998, sched.PreviousTimestep(999));
            Assert.Equal(-1, sched.PreviousTimestep(0));

            sched.SetTimesteps(10);
            Assert.Equal(new long[] { 999, 899, 799, 699, 599, 499, 399, 299, 199, 99 }, sched.Timesteps);
            Assert.Equal(899, sched.PreviousTimestep(999));
            Assert.Equal(-1, sched.PreviousTimestep(99));
            Assert.Contains("not one", Assert.Throws<GenSharpException>(() => sched.PreviousTimestep(500)).Message);

            sched.SetTimesteps(3);
            Assert.Equal(new long[] { 999, 666, 332 }, sched.Timesteps);
            sched.SetTimesteps(1);
            Assert.Equal(new long[] { 999 }, sched.Timesteps);

            // Every count from 1 to T gives that many distinct, descending, in-range steps starting at T-1.
            var small = sched is DdpmScheduler ? (DiffusionScheduler)new DdpmScheduler(new NoiseSchedule(BetaSchedule.Linear, 37))
                                               : new DdimScheduler(new NoiseSchedule(BetaSchedule.Linear, 37));
            for (int n = 1; n <= 37; n++)
            {
                small.SetTimesteps(n);
                var ts = small.Timesteps;
                Assert.Equal(n, ts.Count);
                Assert.Equal(36, ts[0]);
                Assert.True(ts[^1] >= 0);
                for (int i = 1; i < n; i++) Assert.True(ts[i] < ts[i - 1]);
                // Gaps are T/n rounded: never more than one apart from each other.
                var gaps = Enumerable.Range(1, n - 1).Select(i => ts[i - 1] - ts[i]).Append(ts[^1] + 1).ToList();
                Assert.True(gaps.Max() - gaps.Min() <= 1, $"n = {n}: gaps {string.Join(",", gaps)}");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData(1001)]
    public void SetTimestepsValidates(int steps)
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 1000);
        foreach (var sched in new DiffusionScheduler[] { new DdpmScheduler(s), new DdimScheduler(s) })
        {
            var e = Assert.Throws<GenSharpException>(() => sched.SetTimesteps(steps));
            Assert.Contains("[1, 1000]", e.Message);
            Assert.Contains(steps.ToString(), e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Equal(1000, sched.Timesteps.Count); // unchanged
        }
    }

    // ------------------------------------------------------------------ DDIM

    /// <summary>
    /// Runs DDIM from x_T = sqrt(ᾱ_T)·x0 + sqrt(1 − ᾱ_T)·ε with an oracle network (the exact ε or v for the known x0
    /// at the current sample) and checks that every intermediate sample stays on the deterministic path
    /// sqrt(ᾱ_t')·x0 + sqrt(1 − ᾱ_t')·ε and that the end is x0.
    /// </summary>
    [Theory]
    [InlineData(10, PredictionType.Epsilon, BetaSchedule.Linear)]
    [InlineData(50, PredictionType.Epsilon, BetaSchedule.Linear)]
    [InlineData(1000, PredictionType.Epsilon, BetaSchedule.Linear)]
    [InlineData(10, PredictionType.V, BetaSchedule.Linear)]
    [InlineData(50, PredictionType.V, BetaSchedule.Linear)]
    [InlineData(1000, PredictionType.V, BetaSchedule.Linear)]
    [InlineData(50, PredictionType.Epsilon, BetaSchedule.Cosine)]
    [InlineData(50, PredictionType.V, BetaSchedule.Cosine)]
    public void DdimWithOracleStaysOnPathAndRecoversX0(int steps, PredictionType type, BetaSchedule kind)
    {
        var s = new NoiseSchedule(kind, 1000);
        var ddim = new DdimScheduler(s, type, eta: 0.0, clipSample: false);
        ddim.SetTimesteps(steps);
        torch.manual_seed(3);
        var x0 = torch.rand(3, 1, 5, 5) * 2 - 1;
        var eps0 = torch.randn(3, 1, 5, 5);
        var ab = s.AlphasCumprod;
        long first = ddim.Timesteps[0];
        var x = x0 * Math.Sqrt(ab[first]) + eps0 * Math.Sqrt(1 - ab[first]);
        double worstPath = 0;
        int visited = 0;
        foreach (var t in ddim.Timesteps)
        {
            using var scope = torch.NewDisposeScope();
            var output = Oracle(x0, x, ab[t], type);
            var next = ddim.Step(output, t, x, null);
            long prev = ddim.PreviousTimestep(t);
            double abPrev = prev < 0 ? 1.0 : ab[prev];
            var onPath = x0 * Math.Sqrt(abPrev) + eps0 * Math.Sqrt(1 - abPrev);
            worstPath = Math.Max(worstPath, MaxAbs(next.PrevSample, onPath));
            x = next.PrevSample.MoveToOuterDisposeScope();
            visited++;
        }
        Assert.Equal(steps, visited);
        Assert.True(worstPath < 1e-4, $"left the deterministic path by {worstPath}");
        Assert.True(MaxAbs(x, x0) < 1e-4, $"x0 error {MaxAbs(x, x0)}");
    }

    /// <summary>The exact network output for sample x_t when the clean sample is <paramref name="x0"/>.</summary>
    static Tensor Oracle(Tensor x0, Tensor xt, double alphaBar, PredictionType type)
    {
        // Computed in float64 from the definitions, independently of NoiseSchedule's inverses.
        var x0d = x0.to(ScalarType.Float64);
        var xtd = xt.to(ScalarType.Float64);
        var eps = (xtd - Math.Sqrt(alphaBar) * x0d) / Math.Sqrt(1 - alphaBar);
        var output = type == PredictionType.Epsilon ? eps : Math.Sqrt(alphaBar) * eps - Math.Sqrt(1 - alphaBar) * x0d;
        return output.to(ScalarType.Float32);
    }

    [Fact]
    public void DdimEtaOneMatchesDdpmPosterior()
    {
        // Song et al. 2021 §4.1: η = 1 makes the DDIM step the DDPM step; compare means (no-noise part) and spreads.
        var s = new NoiseSchedule(BetaSchedule.Linear, 100);
        var ddim = new DdimScheduler(s, eta: 1.0, clipSample: false);
        var ddpm = new DdpmScheduler(s, clipSample: false);
        ddim.SetTimesteps(10);
        ddpm.SetTimesteps(10);
        torch.manual_seed(4);
        var x0 = torch.rand(1, 1, 1, 1000) * 2 - 1;
        var eps0 = torch.randn(1, 1, 1, 1000);
        const long t = 59;
        var ab = s.AlphasCumprod;
        var xt = x0 * Math.Sqrt(ab[t]) + eps0 * Math.Sqrt(1 - ab[t]);
        var output = Oracle(x0, xt, ab[t], PredictionType.Epsilon);
        using var g1 = new Generator(11);
        using var g2 = new Generator(11);
        var a = ddim.Step(output, t, xt, g1).PrevSample;
        var b = ddpm.Step(output, t, xt, g2).PrevSample;
        // Same generator seed and the same σ, so the draws coincide elementwise.
        Assert.True(MaxAbs(a, b) < 1e-5, $"DDIM(η=1) vs DDPM differ by {MaxAbs(a, b)}");
    }

    // ------------------------------------------------------------------ DDPM

    [Theory]
    [InlineData(DdpmVariance.FixedSmall, 1000, 1000, 400L)]
    [InlineData(DdpmVariance.FixedSmall, 1000, 1000, 30L)]  // β̃ is 6% below β here, so the two variances are told apart
    [InlineData(DdpmVariance.FixedLarge, 1000, 1000, 30L)]
    [InlineData(DdpmVariance.FixedLarge, 1000, 1000, 400L)]
    [InlineData(DdpmVariance.FixedSmall, 1000, 1000, 1L)]
    [InlineData(DdpmVariance.FixedSmall, 1000, 10, 499L)]   // strided chain: 499 → 399, respaced ᾱ
    public void DdpmStepHasPosteriorMeanAndVariance(DdpmVariance variance, int timesteps, int steps, long t)
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, timesteps);
        var ddpm = new DdpmScheduler(s, PredictionType.Epsilon, variance, clipSample: false);
        ddpm.SetTimesteps(steps);
        long prev = ddpm.PreviousTimestep(t);
        Assert.True(prev >= 0);
        const int n = 400_000;
        const double x0Value = 0.4, xtValue = -0.25;
        var x0 = torch.full(new long[] { n, 1 }, x0Value, dtype: ScalarType.Float32);
        var xt = torch.full(new long[] { n, 1 }, xtValue, dtype: ScalarType.Float32);
        var ab = s.AlphasCumprod;
        var output = Oracle(x0, xt, ab[t], PredictionType.Epsilon);
        using var gen = new Generator(5);
        var step = ddpm.Step(output, t, xt, gen);
        Assert.True(MaxAbs(step.PredictedX0, x0) < 1e-4);

        // Independent reference: Bayes' rule on the Gaussian chain x0 → x_{t'} → x_t with
        // q(x_{t'} | x0) = N(sqrt(ᾱ')·x0, 1 − ᾱ') and q(x_t | x_{t'}) = N(sqrt(α)·x_{t'}, 1 − α), α = ᾱ_t/ᾱ'.
        double abT = ab[t], abP = ab[prev], alpha = abT / abP;
        double precision = 1 / (1 - abP) + alpha / (1 - alpha);
        double postVar = 1 / precision;
        double postMean = postVar * (Math.Sqrt(abP) * x0Value / (1 - abP) + Math.Sqrt(alpha) * xtValue / (1 - alpha));
        double expectedVar = variance == DdpmVariance.FixedSmall ? postVar : 1 - alpha;

        var draws = step.PrevSample.to(ScalarType.Float64);
        double mean = draws.mean().item<double>();
        double var = draws.var().item<double>();
        double se = Math.Sqrt(expectedVar / n);
        Assert.True(Math.Abs(mean - postMean) < 5 * se + 1e-6, $"mean {mean} vs posterior {postMean} (se {se})");
        Assert.True(Math.Abs(var / expectedVar - 1) < 0.02, $"variance {var} vs {expectedVar}");
    }

    [Fact]
    public void DdpmLastStepIsTheMeanWithoutNoise()
    {
        var s = new NoiseSchedule(BetaSchedule.Cosine, 20);
        foreach (int steps in new[] { 20, 4 })
        {
            var ddpm = new DdpmScheduler(s, clipSample: false);
            ddpm.SetTimesteps(steps);
            long last = ddpm.Timesteps[^1];
            Assert.Equal(-1, ddpm.PreviousTimestep(last));
            torch.manual_seed(6);
            var x0 = torch.rand(4, 3) * 2 - 1;
            var ab = s.AlphasCumprod;
            var xt = x0 * Math.Sqrt(ab[last]) + torch.randn(4, 3) * Math.Sqrt(1 - ab[last]);
            var output = Oracle(x0, xt, ab[last], PredictionType.Epsilon);
            using var g1 = new Generator(1);
            using var g2 = new Generator(2);
            var a = ddpm.Step(output, last, xt, g1);
            var b = ddpm.Step(output, last, xt, g2);
            Assert.True(MaxAbs(a.PrevSample, b.PrevSample) == 0, "the last step drew noise");
            // After the last step ᾱ' = 1: the posterior mean collapses onto x0.
            Assert.True(MaxAbs(a.PrevSample, x0) < 1e-4, $"last step {MaxAbs(a.PrevSample, x0)} from x0");
            // And the generator was not advanced.
            using var g1Fresh = new Generator(1);
            var fresh = torch.randn(new long[] { 3 }, generator: g1Fresh);
            Assert.True(MaxAbs(torch.randn(new long[] { 3 }, generator: g1), fresh) == 0);
        }
    }

    [Fact]
    public void GeneratorMakesStepsReproducibleAndDifferentSeedsDiffer()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 50);
        foreach (var sched in new DiffusionScheduler[] { new DdpmScheduler(s), new DdimScheduler(s, eta: 0.5) })
        {
            var x = torch.ones(2, 3) * 0.1f;
            var output = torch.ones(2, 3) * 0.2f;
            using var g1 = new Generator(9);
            using var g2 = new Generator(9);
            using var g3 = new Generator(10);
            var a = sched.Step(output, 30, x, g1).PrevSample;
            var b = sched.Step(output, 30, x, g2).PrevSample;
            var c = sched.Step(output, 30, x, g3).PrevSample;
            Assert.True(MaxAbs(a, b) == 0, sched.Name);
            Assert.True(MaxAbs(a, c) > 1e-3, sched.Name);
        }
    }

    [Fact]
    public void ClipSampleClampsPredictedX0()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 100);
        var xt = torch.tensor(new[] { 3f, -3f, 0.1f });
        var eps = torch.zeros(3);  // ⇒ x0 = x_t / sqrt(ᾱ), outside [-1, 1] for the first two
        foreach (var sched in new DiffusionScheduler[] { new DdpmScheduler(s), new DdimScheduler(s) })
        {
            var step = sched.Step(eps, 50, xt, new Generator(0));
            var x0 = step.PredictedX0.data<float>().ToArray();
            Assert.Equal(1f, x0[0]);
            Assert.Equal(-1f, x0[1]);
            Assert.Equal(0.1 / Math.Sqrt(s.AlphasCumprod[50]), x0[2], 5);
        }
        var unclipped = new DdimScheduler(s, clipSample: false).Step(eps, 50, xt).PredictedX0;
        Assert.Equal(3 / Math.Sqrt(s.AlphasCumprod[50]), unclipped[0].item<float>(), 4);
    }

    // ------------------------------------------------------------------ factory and sampling loop

    [Fact]
    public void CreateKnowsTheNamesAndRejectsOthers()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 10);
        Assert.IsType<DdpmScheduler>(Schedulers.Create("ddpm", s, PredictionType.Epsilon));
        var ddim = Assert.IsType<DdimScheduler>(Schedulers.Create(" DDIM ", s, PredictionType.V, eta: 0.3));
        Assert.Equal(0.3, ddim.Eta);
        Assert.Equal(PredictionType.V, ddim.Prediction);
        Assert.Same(s, ddim.Schedule);
        Assert.Equal("ddim", ddim.Name);
        Assert.Equal(new[] { "ddpm", "ddim", "euler", "euler-a", "dpm++2m" }, Schedulers.Names);

        var e = Assert.Throws<GenSharpException>(() => Schedulers.Create("heun", s, PredictionType.Epsilon));
        Assert.Contains("heun", e.Message);
        Assert.Contains("ddpm, ddim", e.Message);
        Assert.Contains("eta", Assert.Throws<GenSharpException>(() => Schedulers.Create("ddpm", s, PredictionType.Epsilon, eta: 0.5)).Message);
        Assert.Contains("eta", Assert.Throws<GenSharpException>(() => Schedulers.Create("ddim", s, PredictionType.Epsilon, eta: 1.5)).Message);
        Assert.Throws<GenSharpException>(() => Schedulers.Create(null!, s, PredictionType.Epsilon));
    }

    [Fact]
    public void TwoLineLoopWorksForEverySchedulerOnOneSchedule()
    {
        // A "network" that knows the data is the constant 0.5 image: both schedulers must land on it,
        // sharing one schedule, and with any step count.
        var s = new NoiseSchedule(BetaSchedule.Cosine, 200);
        var target = torch.full(new long[] { 2, 1, 4, 4 }, 0.5f);
        foreach (var name in Schedulers.Names)
        foreach (int steps in new[] { 200, 25, 7 })
        {
            var sched = Schedulers.Create(name, s, PredictionType.Epsilon);
            sched.SetTimesteps(steps);
            Tensor Model(Tensor x, long t) => Oracle(target, x, s.AlphasCumprod[t], PredictionType.Epsilon);
            using var gen = new Generator(21);
            using var scope = torch.NewDisposeScope();
            var x = torch.randn(new long[] { 2, 1, 4, 4 }, generator: gen);
            foreach (var t in sched.Timesteps) x = sched.Step(Model(x, t), t, x, gen).PrevSample;
            Assert.True(MaxAbs(x, target) < 1e-3, $"{name} with {steps} steps ended {MaxAbs(x, target)} from the data");
        }
    }

    [Fact]
    public void StepRejectsForeignTimestepsAndShapes()
    {
        var s = new NoiseSchedule(BetaSchedule.Linear, 100);
        var ddim = new DdimScheduler(s);
        ddim.SetTimesteps(10);
        var x = torch.zeros(2, 3);
        Assert.Contains("not one", Assert.Throws<GenSharpException>(() => ddim.Step(x, 50, x)).Message);
        Assert.Contains("shape", Assert.Throws<GenSharpException>(() => ddim.Step(torch.zeros(2, 4), 99, x)).Message);
    }
}
