using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models.Gan;
using GenSharp.Models.Vae;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>A real family whose losses are NaN at the chosen steps, as a corrupt batch would make them.</summary>
sealed class PoisonedTrainable(ITrainable inner, Func<long, bool> poisoned) : ITrainable
{
    public nn.Module Model => inner.Model;
    public IReadOnlyList<OptimizerSpec> OptimizerSpecs => inner.OptimizerSpecs;
    public IReadOnlyCollection<string> LossMetrics => inner.LossMetrics;

    public IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        foreach (var term in inner.TrainStep(inputs, targets, ctx))
            yield return poisoned(ctx.Step) ? term with { Loss = term.Loss * double.NaN } : term;
    }
}

/// <summary>A family that reports each loss term to the test before handing it to the trainer.</summary>
sealed class ObservedTrainable(ITrainable inner, Action<LossTerm> onTerm) : ITrainable
{
    public nn.Module Model => inner.Model;
    public IReadOnlyList<OptimizerSpec> OptimizerSpecs => inner.OptimizerSpecs;

    public IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        foreach (var term in inner.TrainStep(inputs, targets, ctx))
        {
            onTerm(term);
            yield return term;
        }
    }
}

/// <summary>One parameter at 0 and the loss |p| = √(p²): finite (0), with a NaN gradient (0/0).</summary>
sealed class NanGradientTrainable : ITrainable
{
    public readonly TorchSharp.Modules.Parameter P = new(torch.zeros(3));
    readonly nn.Module _root;
    public NanGradientTrainable() => _root = nn.ParameterDict(("p", P));
    public nn.Module Model => _root;
    public IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[] { OptimizerSpec.Single("p", OptimizerAlgorithm.Sgd, new[] { P }, 0.1) with { GradClip = 1 } };
    public int ConditionalClasses => 0;
    public Tensor? Sample(int n, Tensor? labels) => null;

    public IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx)
    {
        var loss = P.square().sqrt().sum();
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }
}

public class NonFiniteStepTests
{
    static VaeConfig TinyVae => new() { LatentDim = 4, Channels = 4, Hidden = 16 };

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().DetachFromDisposeScope());   // may be taken inside a step's scope

    /// <summary>Parameters only: batch-norm statistics move with every forward pass, steps or not.</summary>
    static Dictionary<string, Tensor> Parameters(nn.Module m) =>
        m.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter.detach().clone().DetachFromDisposeScope());

    static void AssertSame(Dictionary<string, Tensor> expected, nn.Module m)
    {
        foreach (var (name, t) in m.state_dict())
            Assert.True(Same(t, expected[name]), $"{name} changed");
    }

    static byte[] OptimizerBytes(StepRunner runner)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) runner.SaveState(w);
        return ms.ToArray();
    }

    static TrainResult Train(ITrainable model, string dir, long steps, TrainOptions? extra = null)
    {
        var options = (extra ?? new TrainOptions()) with { Steps = steps, BatchSize = 8, Seed = 3, SampleEvery = 0, LogEvery = 1 };
        var data = new BatchLoader(TestData.Train.Take(64), 8, 3);
        return new Trainer(model, data, options, dir, new JsonObject { ["family"] = "vae" }, torch.CPU).Run();
    }

    [Fact]
    public void ANonFiniteLossNeverReachesTheWeightsOrTheOptimizer()
    {
        TorchRuntime.Seed(1);
        using var vae = new VaeModel(TinyVae, torch.CPU);
        var model = new PoisonedTrainable(vae, step => step == 1);
        using var runner = new StepRunner(model);
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        using (torch.NewDisposeScope()) Assert.True(runner.Run(0, im, lb).Succeeded);
        var weights = Snapshot(vae.Model);
        var adam = OptimizerBytes(runner);

        StepOutcome poisoned;
        using (torch.NewDisposeScope()) poisoned = runner.Run(1, im, lb);
        Assert.False(poisoned.Applied);
        Assert.Contains("NaN at step 2", poisoned.Problem);
        Assert.Empty(poisoned.Metrics);
        AssertSame(weights, vae.Model);
        Assert.Equal(adam, OptimizerBytes(runner));                          // Adam's moments and step count untouched

        // The next good step moves the weights again, from where they were.
        using (torch.NewDisposeScope()) Assert.True(runner.Run(2, im, lb).Succeeded);
        Assert.Contains(vae.Model.state_dict(), kv => !Same(kv.Value, weights[kv.Key]));
        Assert.NotEqual(adam, OptimizerBytes(runner));
    }

    [Fact]
    public void StopPolicyNamesTheStepAndKeepsTheLastGoodCheckpoint()
    {
        TorchRuntime.Seed(2);
        using var vae = new VaeModel(TinyVae, torch.CPU);
        var dir = TestData.TempDir();
        var e = Assert.Throws<TrainingDivergedException>(() =>
            Train(new PoisonedTrainable(vae, step => step == 4), dir, 6, new TrainOptions { CheckpointEvery = 2 }));
        Assert.Contains("the loss became NaN at step 5", e.Message);
        Assert.Contains("(step 4)", e.Message);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint", "config.json")))!;
        Assert.Equal(4, config["step"]!.GetValue<long>());
        // The weights in memory are those of step 4: the poisoned step was never applied.
        using var saved = Safetensors.Load(Path.Combine(dir, "checkpoint", "model.safetensors"));
        foreach (var (name, t) in vae.Model.state_dict())
            Assert.True(Same(t, saved.Tensors[name]), $"{name} moved in the poisoned step");
    }

    [Fact]
    public void SkipPolicySkipsTheStepCountsItAndGoesOn()
    {
        TorchRuntime.Seed(3);
        using var vae = new VaeModel(TinyVae, torch.CPU);
        var dir = TestData.TempDir();
        var r = Train(new PoisonedTrainable(vae, step => step is 2 or 4), dir, 6, new TrainOptions { NonFinite = NonFinitePolicy.Skip });
        Assert.Equal(6, r.Step);
        Assert.Equal(4, r.Losses.Count);                                    // the two skipped steps have no loss
        Assert.All(r.Losses, l => Assert.True(double.IsFinite(l)));
        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(new long[] { 0, 0, 1, 1, 2, 2 }, lines.Select(l => l["skipped_steps"]!.GetValue<long>()));
        Assert.Null(lines[2]["loss"]);                                       // step 3 logged no loss
        Assert.NotNull(lines[3]["loss"]);
        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint", "trainer_state.json")))!;
        Assert.Equal(2, state["skipped_steps"]!.GetValue<long>());
    }

    [Fact]
    public void SkipPolicyStopsAfterTooManySkipsInARow()
    {
        TorchRuntime.Seed(4);
        using var vae = new VaeModel(TinyVae, torch.CPU);
        var dir = TestData.TempDir();
        var e = Assert.Throws<TrainingDivergedException>(() => Train(new PoisonedTrainable(vae, step => step >= 1), dir, 10,
            new TrainOptions { NonFinite = NonFinitePolicy.Skip, MaxConsecutiveSkips = 3 }));
        Assert.Contains("3 steps in a row were skipped", e.Message);
        Assert.Contains("at step 4", e.Message);                             // the third skip, after one good step
        Assert.False(CheckpointFolder.Exists(dir));
    }

    [Fact]
    public void ANonFiniteGradientNormIsCaughtWhenClipping()
    {
        TorchRuntime.EnsureReady();
        var model = new NanGradientTrainable();
        using var runner = new StepRunner(model);
        using var x = torch.zeros(1);
        var outcome = runner.Run(0, x, x);
        Assert.False(outcome.Applied);
        Assert.Contains("gradient norm", outcome.Problem);
        Assert.Equal(new float[] { 0, 0, 0 }, model.P.detach().data<float>().ToArray());
        var e = Assert.Throws<TrainingDivergedException>(() => runner.Step(x, x));
        Assert.Contains("step 2", e.Message);
    }

    [Fact]
    public void TheGeneratorLossSeesTheDiscriminatorJustUpdated()
    {
        TorchRuntime.Seed(5);
        using var gan = new DcganModel(new DcganConfig { LatentDim = 8, GeneratorChannels = 4, DiscriminatorChannels = 4 }, torch.CPU);
        var d0 = Parameters(gan.Networks.Discriminator);
        var g0 = Parameters(gan.Networks.Generator);
        var seen = new List<(int Optimizer, Dictionary<string, Tensor> D, Dictionary<string, Tensor> G)>();
        var model = new ObservedTrainable(gan, t => seen.Add((t.Optimizer, Parameters(gan.Networks.Discriminator), Parameters(gan.Networks.Generator))));
        using var runner = new StepRunner(model);
        Assert.Equal(new[] { "generator", "discriminator" }, runner.Specs.Select(s => s.Name));   // the optimizer.bin order
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        using (torch.NewDisposeScope()) runner.Step(im, lb);

        Assert.Equal(new[] { 1, 0 }, seen.Select(s => s.Optimizer));        // D's loss first, then G's
        foreach (var (name, t) in seen[0].D) Assert.True(Same(t, d0[name]), $"discriminator {name} moved before its step");
        // When G's loss was computed, D had been stepped and G not yet.
        Assert.Contains(seen[1].D, kv => !Same(kv.Value, d0[kv.Key]));
        foreach (var (name, t) in seen[1].G) Assert.True(Same(t, g0[name]), $"generator {name} moved before its step");
        // G's step leaves D as it was when G's loss was computed.
        foreach (var (name, t) in Parameters(gan.Networks.Discriminator)) Assert.True(Same(t, seen[1].D[name]), $"discriminator {name} moved in G's step");
    }
}
