using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Energy;
using GenSharp.Runtime;
using System.Text.Json.Nodes;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class EnergyTests
{
    const int V = 8, H = 5;

    /// <summary>A tiny RBM with weights large enough that the distribution is far from uniform.</summary>
    static Rbm TinyRbm(double scale = 1.0, int seed = 1)
    {
        TorchRuntime.Seed(seed);
        var rbm = new Rbm(V, H);
        using var _ = torch.no_grad();
        rbm.Weight.copy_(torch.randn(H, V) * scale);
        rbm.VisibleBias.copy_(torch.randn(V) * 0.5);
        rbm.HiddenBias.copy_(torch.randn(H) * 0.5);
        return rbm;
    }

    static (double[,] W, double[] B, double[] C) Parameters(Rbm rbm)
    {
        var w = rbm.Weight.detach().to_type(ScalarType.Float64).data<double>().ToArray();
        var W = new double[H, V];
        for (int j = 0; j < H; j++) for (int i = 0; i < V; i++) W[j, i] = w[j * V + i];
        return (W, rbm.VisibleBias.detach().to_type(ScalarType.Float64).data<double>().ToArray(),
                rbm.HiddenBias.detach().to_type(ScalarType.Float64).data<double>().ToArray());
    }

    static void Near(double expected, double actual, double tolerance) => Assert.InRange(actual - expected, -tolerance, tolerance);

    static int Bit(int state, int i) => (state >> i) & 1;

    /// <summary>−E(v, h) = bᵀv + cᵀh + hᵀWv for states given as bit patterns, in doubles.</summary>
    static double NegEnergy((double[,] W, double[] B, double[] C) p, int v, int h)
    {
        double s = 0;
        for (int i = 0; i < V; i++) s += p.B[i] * Bit(v, i);
        for (int j = 0; j < H; j++)
        {
            if (Bit(h, j) == 0) continue;
            s += p.C[j];
            for (int i = 0; i < V; i++) s += p.W[j, i] * Bit(v, i);
        }
        return s;
    }

    static double LogSumExp(IEnumerable<double> xs)
    {
        var a = xs.ToArray();
        double m = a.Max();
        return m + Math.Log(a.Sum(x => Math.Exp(x - m)));
    }

    /// <summary>log p(v) for every v by enumerating all 2^V · 2^H joint states.</summary>
    static double[] ExactLogProbabilities((double[,] W, double[] B, double[] C) p, out double logZ)
    {
        var logMarg = Enumerable.Range(0, 1 << V).Select(v => LogSumExp(Enumerable.Range(0, 1 << H).Select(h => NegEnergy(p, v, h)))).ToArray();
        logZ = LogSumExp(logMarg);
        double z = logZ;
        return logMarg.Select(l => l - z).ToArray();
    }

    [Fact]
    public void FreeEnergyAndLogZMatchEnumeration()
    {
        using var rbm = TinyRbm();
        var p = Parameters(rbm);
        var logP = ExactLogProbabilities(p, out double logZ);
        using var states = Rbm.AllBinaryStates(V);                       // row r = bits of r
        var f = rbm.FreeEnergy(states).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int v = 0; v < 1 << V; v++) Near(-(logP[v] + logZ), f[v], 1e-4);
        // Hidden-side free energy: −F(h) = log Σ_v exp(−E(v, h)).
        using var hs = Rbm.AllBinaryStates(H);
        var fh = rbm.HiddenFreeEnergy(hs).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int h = 0; h < 1 << H; h++)
            Near(-LogSumExp(Enumerable.Range(0, 1 << V).Select(v => NegEnergy(p, v, h))), fh[h], 1e-4);
        Near(logZ, rbm.ExactLogPartition(), 1e-4);                  // enumerates the 2^5 hidden states
        using var big = new Rbm(H, V);                                    // visible side smaller: enumerates v
        using (torch.no_grad()) { big.Weight.copy_(rbm.Weight.t()); big.VisibleBias.copy_(rbm.HiddenBias); big.HiddenBias.copy_(rbm.VisibleBias); }
        Near(logZ, big.ExactLogPartition(), 1e-4);
    }

    [Fact]
    public void AisEstimateIsWithinTolerance()
    {
        using var rbm = TinyRbm(scale: 1.0);
        double exact = rbm.ExactLogPartition();
        // A base rate that is not uniform, as from training data.
        rbm.TrackInputMean(torch.rand(50, V));
        torch.manual_seed(3);
        var est = AnnealedImportanceSampling.Estimate(rbm, rbm.BaseRateBias(), chains: 200, betas: 1000, runs: 4);
        // Tolerance 0.05 nats with 800 chains over 1000 distributions on this 8×5 model.
        Assert.InRange(est.LogZ - exact, -0.05, 0.05);
        Assert.Equal(4, est.RunEstimates.Count);
        Assert.InRange(est.RunStd, 0, 0.1);
        Assert.True(est.LogZMinus3Sigma <= est.LogZ && est.LogZ <= est.LogZPlus3Sigma);
        Assert.InRange(exact, est.LogZMinus3Sigma - 0.02, est.LogZPlus3Sigma + 0.02);
        // One intermediate distribution is plain importance sampling from the base rate: much worse, but unbiased for Z.
        var schedule = AnnealedImportanceSampling.Schedule(14500);
        Assert.Equal(14501, schedule.Length);
        Assert.Equal(0.0, schedule[0]);
        Assert.Equal(1.0, schedule[^1]);
        Assert.True(schedule.Zip(schedule.Skip(1)).All(t => t.Second > t.First));
        Assert.Equal(0.5, schedule[500], 9);
        Assert.Equal(0.9, schedule[4500], 9);
    }

    [Fact]
    public void ConditionalsMatchClosedFormAndGibbsMatchesExactMarginals()
    {
        using var rbm = TinyRbm(scale: 0.7, seed: 2);
        var p = Parameters(rbm);
        // p(h_j = 1 | v) by enumeration over h, for every v.
        using var vs = Rbm.AllBinaryStates(V);
        var ph = torch.sigmoid(rbm.HiddenLogits(vs)).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int v = 0; v < 1 << V; v += 7)
        {
            double norm = LogSumExp(Enumerable.Range(0, 1 << H).Select(h => NegEnergy(p, v, h)));
            for (int j = 0; j < H; j++)
            {
                double on = Enumerable.Range(0, 1 << H).Where(h => Bit(h, j) == 1).Sum(h => Math.Exp(NegEnergy(p, v, h) - norm));
                Assert.InRange(ph[v * H + j] - on, -1e-5, 1e-5);
            }
        }
        using var hs = Rbm.AllBinaryStates(H);
        var pv = torch.sigmoid(rbm.VisibleLogits(hs)).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int h = 0; h < 1 << H; h++)
        {
            double norm = LogSumExp(Enumerable.Range(0, 1 << V).Select(v => NegEnergy(p, v, h)));
            for (int i = 0; i < V; i++)
            {
                double on = Enumerable.Range(0, 1 << V).Where(v => Bit(v, i) == 1).Sum(v => Math.Exp(NegEnergy(p, v, h) - norm));
                Assert.InRange(pv[h * V + i] - on, -1e-5, 1e-5);
            }
        }
        // Empirical: 20,000 chains × 30 sweeps reach p(v); per-unit frequencies match the exact marginals (SE ≈ 0.0035).
        var logP = ExactLogProbabilities(p, out _);
        torch.manual_seed(5);
        using var start = torch.bernoulli(torch.full(20000, V, 0.5f));
        var (sample, _) = rbm.Gibbs(start, 30);
        var freq = sample.mean(new long[] { 0 }).to_type(ScalarType.Float64).data<double>().ToArray();
        for (int i = 0; i < V; i++)
        {
            double exact = Enumerable.Range(0, 1 << V).Where(v => Bit(v, i) == 1).Sum(v => Math.Exp(logP[v]));
            Assert.InRange(freq[i], exact - 0.02, exact + 0.02);
        }
    }

    [Fact]
    public void CdGradientWithLongChainsMatchesExactGradient()
    {
        using var rbm = TinyRbm(scale: 0.5, seed: 4);
        var p = Parameters(rbm);
        var logP = ExactLogProbabilities(p, out _);
        int[] data = { 0b10110010, 0b00001111, 0b11110000, 0b10101010 };
        // Exact ∂(mean log p)/∂W = ⟨σ(c + Wv) vᵀ⟩_data − ⟨σ(c + Wv) vᵀ⟩_model, by enumeration.
        double Sig(double x) => 1 / (1 + Math.Exp(-x));
        double HiddenProb(int v, int j) { double a = p.C[j]; for (int i = 0; i < V; i++) a += p.W[j, i] * Bit(v, i); return Sig(a); }
        var exact = new double[H * V];
        for (int j = 0; j < H; j++)
            for (int i = 0; i < V; i++)
            {
                double pos = data.Average(v => HiddenProb(v, j) * Bit(v, i));
                double neg = Enumerable.Range(0, 1 << V).Sum(v => Math.Exp(logP[v]) * HiddenProb(v, j) * Bit(v, i));
                exact[j * V + i] = pos - neg;
            }
        // CD-50 from 4 × 5,000 copies of the data: the chains mix, so −∇ of the surrogate ≈ the exact gradient.
        torch.manual_seed(6);
        using var v0 = torch.stack(data.Select(v => torch.tensor(Enumerable.Range(0, V).Select(i => (float)Bit(v, i)).ToArray())).ToArray())
            .repeat(5000, 1);
        rbm.zero_grad();
        rbm.ContrastiveDivergenceLoss(v0, 50).backward();
        var cd = (-rbm.Weight.grad!).to_type(ScalarType.Float64).data<double>().ToArray();
        double dot = exact.Zip(cd).Sum(t => t.First * t.Second);
        double ne = Math.Sqrt(exact.Sum(x => x * x)), nc = Math.Sqrt(cd.Sum(x => x * x));
        Assert.InRange(dot / (ne * nc), 0.98, 1.0);                      // same direction
        Assert.InRange(nc / ne, 0.9, 1.1);                               // same size
        // CD-1 is biased (Carreira-Perpiñán & Hinton 2005) but still points uphill.
        rbm.zero_grad();
        rbm.ContrastiveDivergenceLoss(v0, 1).backward();
        var cd1 = (-rbm.Weight.grad!).to_type(ScalarType.Float64).data<double>().ToArray();
        Assert.True(exact.Zip(cd1).Sum(t => t.First * t.Second) > 0);
    }

    static RbmConfig TinyConfig(bool persistent = false) => new() { Hidden = 12, Persistent = persistent, PersistentChains = 16, LearningRate = 0.05, SampleSteps = 20 };

    [Fact]
    public void TrainingRaisesExactLikelihoodAndPcdAdvancesItsChains()
    {
        foreach (var persistent in new[] { false, true })
        {
            TorchRuntime.Seed(0);
            using var model = new RbmModel(TinyConfig(persistent), torch.CPU);
            using var runner = new StepRunner(model);
            var loader = new BatchLoader(TestData.Train, 32, 0, shuffle: true, dropLast: true);
            var (test, _) = new BatchLoader(TestData.Test, 64, 0, shuffle: false).GetBatch(0);
            double LogLik()
            {
                using var scope = torch.NewDisposeScope();
                using var gen = new Generator(1);
                var v = model.BinarizeForEval(test, gen);
                return (-model.Network.FreeEnergy(v).mean().item<float>()) - model.Network.ExactLogPartition();   // 2^12 hidden states
            }
            double before = LogLik();
            using var chains0 = model.Network.PersistentChains?.clone();
            Dictionary<string, double>? last = null;
            for (int s = 0; s < 40; s++)
            {
                using var scope = torch.NewDisposeScope();
                var (im, lb) = loader.GetBatch(s % loader.BatchesPerEpoch);
                last = new(runner.Step(im, lb));
            }
            double after = LogLik();
            Assert.True(after > before + 20, $"persistent={persistent}: exact test log-likelihood {before:F1} → {after:F1}");
            Assert.All(last!.Values, v => Assert.True(double.IsFinite(v)));
            Assert.Equal(new[] { "recon_error", "pseudo_nll", "free_energy_gap" }, last!.Keys.ToArray());
            if (persistent)
            {
                var chains = model.Network.PersistentChains!;
                Assert.Equal(new long[] { 16, 784 }, chains.shape);
                Assert.True(chains.ne(chains0!).any().item<bool>());
                Assert.True(chains.eq(0).logical_or(chains.eq(1)).all().item<bool>());
            }
            else Assert.Null(model.Network.PersistentChains);
            // The tracked input mean is the mean of the training pixels seen.
            Assert.InRange(model.Network.InputMean.mean().item<float>(), 0.2, 0.4);
        }
    }

    [Fact]
    public void PseudoLikelihoodMonitorIsUnbiasedForTheExactPseudoLikelihood()
    {
        using var rbm = TinyRbm(scale: 0.8, seed: 8);
        var p = Parameters(rbm);
        var logP = ExactLogProbabilities(p, out _);
        int v = 0b01101001;
        // Exact log PL = Σᵢ log p(vᵢ | v₋ᵢ) = Σᵢ log p(v) / (p(v) + p(v with bit i flipped)).
        double exact = Enumerable.Range(0, V).Sum(i => logP[v] - LogSumExp(new[] { logP[v], logP[v ^ (1 << i)] }));
        torch.manual_seed(9);
        using var batch = torch.tensor(Enumerable.Range(0, V).Select(i => (float)Bit(v, i)).ToArray()).unsqueeze(0).repeat(20000, 1);
        var (_, pseudoNll) = rbm.Monitors(batch);
        Assert.InRange(pseudoNll, -exact - 0.15, -exact + 0.15);   // SE ≈ 0.04 with 20,000 draws
    }

    [Fact]
    public void RbmSaveLoadSampleRoundTripAndEval()
    {
        TorchRuntime.Seed(0);
        var config = TinyConfig(persistent: true);
        using var model = new RbmModel(config, torch.CPU);
        using var runner = new StepRunner(model);
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);
        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "rbm", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);
        var names = ModuleState.Collect(loaded.Model.Model).Keys.Order().ToArray();
        Assert.Equal(new[] { "hidden_bias", "input_count", "input_mean", "persistent", "visible_bias", "weight" }, names);
        torch.manual_seed(7);
        using var a = model.Sample(4, null)!;
        torch.manual_seed(7);
        using var b = ((IImageSampler)loaded.Model).Sample(4, null)!;
        Assert.Equal(new long[] { 4, 1, 28, 28 }, a.shape);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        Assert.InRange(a.min().item<float>(), 0, 1);
        Assert.InRange(a.max().item<float>(), 0, 1);

        // Eval: nll = F + log Ẑ per image; log Z of a 12-hidden RBM is exact by enumeration, AIS must agree closely.
        var lm = (ILikelihoodModel)loaded.Model;
        using var test = TestData.Test.Take(20);
        // After one update the model is still near uniform while the base rate fits 16 images closely (biases up to ±6.9),
        // so the path is long: 3,000 distributions.
        var r = GenSharp.Evaluation.LikelihoodReport.Evaluate(lm, test, torch.CPU, new EvalSettings(AisChains: 50, AisBetas: 3000, AisRuns: 2), batchSize: 8);
        double exact = ((RbmModel)loaded.Model).Network.ExactLogPartition();
        Assert.InRange(r["log_z"] - exact, -0.3, 0.3);
        Assert.InRange(r["nll"] - (r["free_energy"] + r["log_z"]), -1e-6, 1e-6);
        Assert.Equal(2, r["ais_runs"], 9);
        Assert.True(r.ContainsKey("log_z_std") && r.ContainsKey("nll_bpd"));
    }

    static DbnConfig TinyDbn => new() { HiddenLayers = new[] { 12, 6 }, LayerSteps = 3, SampleSteps = 10, LearningRate = 0.05 };

    [Fact]
    public void DbnTrainsLayerByLayerAndRoundTrips()
    {
        TorchRuntime.Seed(0);
        var config = TinyDbn;
        using var model = new DbnModel(config, torch.CPU);
        using var runner = new StepRunner(model);
        var layers = model.Network.Layers;
        Assert.Equal(new long[] { 12, 784 }, layers[0].Weight.shape);
        Assert.Equal(new long[] { 6, 12 }, layers[1].Weight.shape);
        var loader = new BatchLoader(TestData.Train, 16, 0, shuffle: true, dropLast: true);
        using var w1Before = layers[1].Weight.detach().clone();
        var seen = new List<double>();
        Tensor? w0AfterFirst = null;
        for (int s = 0; s < 7; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (im, lb) = loader.GetBatch(s);
            seen.Add(runner.Step(im, lb)["layer"]);
            if (s == 2)
            {
                Assert.True(layers[1].Weight.eq(w1Before).all().item<bool>());   // the top waits its turn
                w0AfterFirst = layers[0].Weight.detach().clone().MoveToOuterDisposeScope();
            }
        }
        Assert.Equal(new double[] { 0, 0, 0, 1, 1, 1, 1 }, seen);
        Assert.True(layers[0].Weight.eq(w0AfterFirst!).all().item<bool>());       // frozen once the next layer trains
        Assert.False(layers[1].Weight.eq(w1Before).all().item<bool>());
        // The top RBM's tracked input mean is that of binary hidden samples.
        Assert.InRange(layers[1].InputMean.min().item<float>(), 0, 1);

        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "dbn", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config.HiddenLayers, ((DbnConfig)loaded.Model.Config).HiddenLayers);
        Assert.Equal(7L, runner.StepsDone);
        Assert.DoesNotContain("steps_done", ModuleState.Collect(loaded.Model.Model).Keys);   // the update count lives in the trainer state
        torch.manual_seed(3);
        using var a = model.Sample(5, null)!;
        torch.manual_seed(3);
        using var b = ((IImageSampler)loaded.Model).Sample(5, null)!;
        Assert.Equal(new long[] { 5, 1, 28, 28 }, a.shape);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void DbnBoundMatchesEnumerationAndStaysBelowExactLogLikelihood()
    {
        // A 2-layer DBN 6-4-3 small enough to enumerate: exact log p(v) = log Σ_h1 p(v | h1) p_top(h1).
        TorchRuntime.Seed(11);
        using var bottom = new Rbm(6, 4);
        using var top = new Rbm(4, 3);
        using (torch.no_grad())
        {
            foreach (var r in new[] { bottom, top })
            {
                r.Weight.copy_(torch.randn(r.Hidden, r.Visible) * 1.2);
                r.VisibleBias.copy_(torch.randn(r.Visible) * 0.5);
                r.HiddenBias.copy_(torch.randn(r.Hidden) * 0.5);
            }
        }
        double logZTop = top.ExactLogPartition();
        using var h1s = Rbm.AllBinaryStates(4);                                           // (16, 4)
        var logPTop = (-top.FreeEnergy(h1s)).to_type(ScalarType.Float64) - logZTop;       // (16)
        using var vs = Rbm.AllBinaryStates(6);                                            // (64, 6)
        // log p(v | h1) for all pairs: (64, 16).
        var logits = bottom.VisibleLogits(h1s);                                           // (16, 6)
        var logPvGivenH = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits.unsqueeze(0).expand(64, 16, 6), vs.unsqueeze(1).expand(64, 16, 6), reduction: nn.Reduction.None).sum(2).to_type(ScalarType.Float64);
        var exactLogP = torch.logsumexp(logPvGivenH + logPTop.unsqueeze(0), 1);          // (64)
        Assert.Equal(1.0, torch.logsumexp(exactLogP, 0).exp().item<double>(), 6);          // a distribution over v
        // Exact bound: Σ_h1 q(h1|v) [log p(v|h1) + log p_top(h1)] + H(q), q factorial.
        var q = torch.sigmoid(bottom.HiddenLogits(vs)).to_type(ScalarType.Float64);       // (64, 4)
        var h64 = h1s.to_type(ScalarType.Float64);
        var logQ = (h64.unsqueeze(0) * q.unsqueeze(1).log() + (1 - h64.unsqueeze(0)) * (1 - q.unsqueeze(1)).log()).sum(2);   // (64, 16)
        var exactBound = (logQ.exp() * (logPvGivenH + logPTop.unsqueeze(0) - logQ)).sum(1);                                 // (64)
        Assert.True((exactBound <= exactLogP + 1e-9).all().item<bool>());
        Assert.True((exactLogP - exactBound).max().item<double>() > 0.01);                // not trivially tight

        // The model's Monte-Carlo bound on the same stack: copy the small RBMs into a DBN built for 6 visible units.
        var small = new DbnConfig { ImageChannels = 1, ImageSize = 8, HiddenLayers = new[] { 4, 3 } };   // 64 visible units
        using var dbn = new DbnModel(small, torch.CPU);
        using (torch.no_grad())
        {
            // Pad the 6-unit bottom layer to 64 visible units with zero weights and very negative biases: the padded
            // units are (almost surely) off and contribute log σ(−30) ≈ 0 per unit to log p(v | h1).
            var l0 = dbn.Network.Layers[0];
            l0.Weight.zero_(); l0.Weight.narrow(1, 0, 6).copy_(bottom.Weight);
            l0.VisibleBias.fill_(-30); l0.VisibleBias.narrow(0, 0, 6).copy_(bottom.VisibleBias);
            l0.HiddenBias.copy_(bottom.HiddenBias);
            var l1 = dbn.Network.Layers[1];
            l1.Weight.copy_(top.Weight); l1.VisibleBias.copy_(top.VisibleBias); l1.HiddenBias.copy_(top.HiddenBias);
        }
        using var padded = torch.cat(new[] { vs, torch.zeros(64, 58) }, 1);
        torch.manual_seed(12);
        var mc = (dbn.BoundWithoutLogZ(padded, 4000) - logZTop).data<double>().ToArray();
        var eb = exactBound.data<double>().ToArray();
        // 4,000 up-pass samples per image: each within 0.3 (≈ 5 SE), their mean within 0.03.
        for (int v = 0; v < 64; v++) Assert.InRange(mc[v] - eb[v], -0.3, 0.3);
        Assert.InRange(mc.Zip(eb).Average(t => t.First - t.Second), -0.03, 0.03);
    }
}
