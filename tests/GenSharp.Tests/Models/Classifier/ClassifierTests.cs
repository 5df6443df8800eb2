using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Classifier;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class ClassifierTests
{
    static ClassifierConfig Tiny => new() { Channels = 4, FeatureDim = 16, ConvsPerStage = 1 };

    static Tensor Images01(int n) =>
        ImageTransforms.ToFloat(TestData.Test.Images.narrow(0, 0, n), PixelScale.ZeroOne);

    [Fact]
    public void ShapesOfFeaturesAndLogits()
    {
        TorchRuntime.Seed(0);
        using var model = (ClassifierModel)FamilyRegistry.Get("classifier").Build(new ClassifierConfig(), torch.CPU);
        using var x = Images01(3);
        using var f = model.Features(x);
        using var l = model.Logits(x);
        Assert.Equal(new long[] { 3, 128 }, f.shape);
        Assert.Equal(new long[] { 3, 10 }, l.shape);
        Assert.True(f.ge(0).all().item<bool>());              // after the ReLU
        Assert.IsNotAssignableFrom<IImageSampler>(model);     // not generative
        Assert.Throws<GenSharpException>(() => model.Features(torch.zeros(2, 1, 14, 14)));
    }

    [Fact]
    public void OneTrainStepLowersTheLossOnItsBatch()
    {
        TorchRuntime.Seed(1);
        using var model = new ClassifierModel(Tiny with { Augment = false, Dropout = 0, LearningRate = 1e-2 }, torch.CPU);
        using var runner = new StepRunner(model);
        var (images, labels) = new BatchLoader(TestData.Train, 64, 0).GetBatch(0);
        double Loss()
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Logits(ImageTransforms.ToFloat(images, PixelScale.ZeroOne));
            return nn.functional.cross_entropy(logits, labels).item<float>();
        }
        // Eval-mode loss before and after a few steps on the same batch (batch norm uses running stats in eval).
        double before = Loss();
        IReadOnlyDictionary<string, double> m = new Dictionary<string, double>();
        for (int i = 0; i < 5; i++)
            using (var scope = torch.NewDisposeScope()) m = runner.Step(images, labels);
        Assert.True(double.IsFinite(m["loss"]));
        Assert.InRange(m["accuracy"], 0, 1);
        Assert.True(Loss() < before, $"loss {before} did not drop");
    }

    [Fact]
    public void EvaluateCountsAccuracyPerClass()
    {
        TorchRuntime.Seed(2);
        using var model = new ClassifierModel(Tiny, torch.CPU);
        using var data = TestData.Test.Take(200);
        var r = model.Evaluate(data, batchSize: 64);
        // Independent: argmax of the logits against the labels.
        using var logits = model.Logits(ImageTransforms.ToFloat(data.Images, PixelScale.ZeroOne));
        double expected = logits.argmax(1).eq(data.Labels).to(ScalarType.Float64).mean().item<double>();
        Assert.Equal(expected, r["accuracy"], 12);
        Assert.Equal(200, r["items"]);
        Assert.True(r["loss"] > 0);
        Assert.True(r.ContainsKey("accuracy_class_9"));
    }

    [Fact]
    public void SaveLoadGivesIdenticalFeatures()
    {
        TorchRuntime.Seed(3);
        var config = Tiny;
        using var model = new ClassifierModel(config, torch.CPU);
        using var runner = new StepRunner(model);
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);   // moves weights and BN statistics
        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "classifier", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);
        using var x = Images01(5);
        using var a = model.Features(x);
        using var b = ((ClassifierModel)loaded.Model).Features(x);
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Fact]
    public void TrainerRunsAClassifierWithoutSampleGrids()
    {
        TorchRuntime.Seed(4);
        using var model = new ClassifierModel(Tiny, torch.CPU);
        var dir = TestData.TempDir();
        var trainer = new Trainer(model, new BatchLoader(TestData.Train, 8, 0), new TrainOptions { Steps = 3, BatchSize = 8, SampleEvery = 1 },
            dir, new JsonObject { ["family"] = "classifier", ["config"] = ConfigJson.ToJson(model.Config) }, torch.CPU);
        var r = trainer.Run();
        Assert.Equal(3, r.Step);
        Assert.True(File.Exists(Path.Combine(dir, "checkpoint", "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(dir, "samples")));
    }

    [Fact]
    public void ConfigRejectsBadValues()
    {
        var e = Assert.Throws<GenSharpException>(() => (Tiny with { Dropout = 1.0 }).Validate());
        Assert.Contains("dropout", e.Message);
        e = Assert.Throws<GenSharpException>(() => (Tiny with { ConvsPerStage = 0 }).Validate());
        Assert.Contains("convs_per_stage", e.Message);
    }

    [Fact]
    public void CosineScheduleEndpointsAndStepCounter()
    {
        TorchRuntime.Seed(5);
        using var model = new ClassifierModel(Tiny with { LearningRate = 0.002, DecaySteps = 10 }, torch.CPU);
        using var runner = new StepRunner(model);
        Assert.Equal(0.002, model.LearningRateAt(0), 15);
        Assert.Equal(0.002 * (0.01 + 0.99 * 0.5), model.LearningRateAt(5), 15);   // half way: cos(π/2) = 0
        Assert.Equal(0.002 * 0.01, model.LearningRateAt(10), 15);
        Assert.Equal(0.002 * 0.01, model.LearningRateAt(1000), 15);
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        for (int i = 0; i < 2; i++)
            using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);
        Assert.Equal(2, runner.StepsDone);   // the trainer's step index, saved with its state, so resume continues the schedule
        Assert.Equal(model.LearningRateAt(1), runner.Optimizers[0].ParamGroups.First().LearningRate, 15);
    }
}
