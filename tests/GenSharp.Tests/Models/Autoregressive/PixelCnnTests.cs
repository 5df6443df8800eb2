using System.Diagnostics;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;
using GenSharp.Models.Autoregressive;
using GenSharp.Runtime;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class PixelCnnTests(ITestOutputHelper output)
{
    // 3 blocks (7×7 type A, then 5×5): the receptive field reaches 3 + 2 + 2 = 7 rows up and 7 columns
    // either side, so on an 8×8 image every earlier pixel must influence every later one.
    static PixelCnnConfig Tiny => new()
    {
        ImageSize = 8, Layers = 3, Channels = 8, FirstKernelSize = 7, KernelSize = 5, OutputHiddenChannels = 16,
    };

    static PixelCnnConfig Small28 => new() { Layers = 2, Channels = 8, KernelSize = 3, OutputHiddenChannels = 16 };

    static Tensor TestImages(int n) => TestData.Test.Images.narrow(0, 0, n);
    static Tensor TestLabels(int n) => TestData.Test.Labels.narrow(0, 0, n);

    /// <summary>Gives every class-bias embedding random values so the conditional path is not a no-op.</summary>
    static void RandomizeClassBiases(PixelCnnModel model)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in model.Network.named_parameters())
            if (name.Contains("class_bias", StringComparison.Ordinal)) nn.init.normal_(p);
    }

    [Theory]
    [InlineData(PixelCnnOutput.Softmax256, false)]
    [InlineData(PixelCnnOutput.Bernoulli, false)]
    [InlineData(PixelCnnOutput.Softmax256, true)]
    public void OutputAtEachPixelDependsOnExactlyThePixelsBefore(PixelCnnOutput kind, bool conditional)
    {
        TorchRuntime.Seed(10);
        using var model = new PixelCnnModel(Tiny with { Output = kind, Conditional = conditional }, torch.CPU);
        RandomizeClassBiases(model);
        model.Network.to(ScalarType.Float64);   // double precision: "nonzero" must not hinge on rounding
        using var scope = torch.NewDisposeScope();
        const int s = 8, d = s * s;
        // Batch item i carries the same image; its loss is output pixel i only, so x.grad[i] = ∂ out_i / ∂ x.
        var x = torch.randn(1, 1, s, s, dtype: ScalarType.Float64).expand(d, 1, s, s).contiguous().requires_grad_(true);
        Tensor? y = conditional ? torch.randint(10, d, dtype: ScalarType.Int64) : null;
        var logits = model.Network.forward(x, y);                                            // (d, K, s, s)
        var pick = torch.eye(d, dtype: ScalarType.Float64).view(d, 1, s, s);                  // item i ↦ pixel i
        var weights = torch.randn(1, logits.shape[1], 1, 1, dtype: ScalarType.Float64);       // mix the K logits
        (logits * weights * pick).sum().backward();
        var grad = x.grad!.view(d, d).abs();                                                  // [output i, input j]
        var g = grad.data<double>().ToArray();
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double v = g[i * d + j];
                if (j >= i) Assert.True(v == 0, $"output pixel {i} depends on input pixel {j} (gradient {v})");
                else Assert.True(v > 0, $"output pixel {i} does not see input pixel {j} (blind spot)");
            }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SamplerLogitsEqualTheFullNetwork(bool conditional)
    {
        TorchRuntime.Seed(11);
        using var model = new PixelCnnModel(Tiny with { Conditional = conditional }, torch.CPU);
        RandomizeClassBiases(model);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        model.Network.eval();
        // 13×12 > the reach of 7 rows, so the row window of RowLinks crops.
        const int h = 13, w = 12;
        var x = torch.rand(3, 1, h, w) * 2 - 1;
        Tensor? y = conditional ? torch.tensor(new long[] { 1, 4, 9 }) : null;
        var full = model.Network.forward(x, y);                                   // (3, 256, h, w)
        double worst = 0;
        for (int r = 0; r < h; r++)
        {
            // As the sampler does: the row starts unknown (zeros) and pixels are set one by one.
            var cache = new PixelCnnRowCache(model.Network, torch.zeros(3, 1, 1, w), model.Network.RowLinks(x, r, y), y);
            for (int c = 0; c < w; c++)
            {
                var fast = cache.Logits(c);                                       // (3, 256)
                worst = Math.Max(worst, (fast - full.select(3, c).select(2, r)).abs().max().item<float>());
                cache.Set(c, x[TensorIndex.Colon, TensorIndex.Colon, r, c]);
            }
        }
        Assert.True(worst < 1e-5, $"sampler logits differ from the full network's by {worst}");
    }

    [Fact]
    public void NllEqualsCrossEntropyOfTheLogits()
    {
        TorchRuntime.Seed(12);
        using var model = new PixelCnnModel(Small28, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var images = TestImages(3);
        var nll = model.NegativeLogLikelihood(images);                             // (3)
        using var _ = torch.no_grad();
        var logits = model.Logits(images.to_type(ScalarType.Float32), null);       // (3, 256, 1, 28, 28)
        var byHand = -logits.log_softmax(1).gather(1, images.to_type(ScalarType.Int64).unsqueeze(1)).flatten(1).sum(1);
        Assert.Equal(new long[] { 3 }, nll.shape);
        Assert.True((nll - byHand).abs().max().item<float>() < 1e-2, $"{nll.str()} vs {byHand.str()}");
        // And one pixel in plain doubles: −log softmax(logits)[x] at pixel (0, 14, 14) of image 0.
        var l = logits[0, TensorIndex.Colon, 0, 14, 14].to_type(ScalarType.Float64).data<double>().ToArray();
        int v = images[0, 0, 14, 14].item<byte>();
        double max = l.Max(), lse = max + Math.Log(l.Sum(z => Math.Exp(z - max)));
        var perPixel = torch.nn.functional.cross_entropy(logits, images.to_type(ScalarType.Int64), reduction: nn.Reduction.None);
        Assert.Equal(lse - l[v], perPixel[0, 0, 14, 14].item<float>(), 4);
    }

    [Fact]
    public void ConditionalNllIsTheMarginalOverUniformClasses()
    {
        TorchRuntime.Seed(20);
        using var model = new PixelCnnModel(Small28 with { Conditional = true }, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var images = TestImages(3);
        var levels = images.to_type(ScalarType.Float32);
        using (torch.no_grad())
        {
            // Class biases start at zero: every p(x | y) is the same, so the marginal equals it.
            var nll = model.NegativeLogLikelihood(images);
            var given = model.NegativeLogLikelihoodOfLevels(levels, torch.tensor(new long[] { 2, 7, 5 }));
            Assert.True((nll - given).abs().max().item<float>() < 1e-2, $"{nll.str()} vs {given.str()}");
        }
        RandomizeClassBiases(model);
        using (torch.no_grad())
        {
            // −log Σ_y p(x|y)/K lies in [min_y NLL(x|y), min_y NLL(x|y) + log K].
            var nll = model.NegativeLogLikelihood(images);
            var perClass = torch.stack(Enumerable.Range(0, 10).Select(k =>
                model.NegativeLogLikelihoodOfLevels(levels, torch.full(3, k, ScalarType.Int64))), 1);   // (3, 10)
            var best = perClass.min(1).values;
            Assert.True((nll - best).min().item<float>() >= -1e-2, $"{nll.str()} below {best.str()}");
            Assert.True((best + Math.Log(10) - nll).min().item<float>() >= -1e-2, $"{nll.str()} above {best.str()} + log 10");
            Assert.True((perClass.max(1).values - best).min().item<float>() > 1, "random class biases should make the classes differ");
        }
    }

    [Theory]
    [InlineData(PixelCnnOutput.Softmax256, 8.0)]   // uniform over 256 levels: log2 256 bits per pixel
    [InlineData(PixelCnnOutput.Bernoulli, 1.0)]    // fair coin per binary pixel: 1 bit
    public void UniformOutputGivesTheKnownBitsPerDim(PixelCnnOutput kind, double bits)
    {
        TorchRuntime.Seed(13);
        using var model = new PixelCnnModel(Small28 with { Output = kind }, torch.CPU);
        using var runner = new StepRunner(model);
        using (torch.no_grad())
            foreach (var (name, p) in model.Network.named_parameters())
                if (name.StartsWith("output_logits", StringComparison.Ordinal)) p.zero_();   // every logit 0
        using var data = TestData.Test.Take(6);
        var report = LikelihoodReport.Evaluate(model, data, torch.CPU, new EvalSettings(), batchSize: 4);
        double dims = 28 * 28;
        Assert.Equal(dims * bits * Math.Log(2), report["nll"], 2);                // nats per image
        Assert.Equal(bits, report["nll_bpd"], 5);
        using var scope = torch.NewDisposeScope();
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        var m = runner.Step(im, lb);                                          // metrics are from before the update
        Assert.Equal(dims * bits * Math.Log(2), m["loss"], 2);
        Assert.Equal(bits, m["bpd"], 5);
    }

    [Theory]
    [InlineData(PixelCnnOutput.Softmax256)]
    [InlineData(PixelCnnOutput.Bernoulli)]
    public void CompletionKeepsTheKnownPixelsAndIsSeeded(PixelCnnOutput kind)
    {
        TorchRuntime.Seed(14);
        using var model = new PixelCnnModel(Small28 with { Output = kind, Conditional = true }, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var images = TestImages(2);
        var labels = TestLabels(2);
        const int known = 25 * 28 + 9;   // mid-row start; the last ~3 rows are sampled
        torch.manual_seed(3);
        var a = model.Complete(images, known, labels).view(2, -1);
        torch.manual_seed(3);
        var b = model.Complete(images, known, labels).view(2, -1);
        var x01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
        var expected = (kind == PixelCnnOutput.Softmax256 ? x01 : ImageTransforms.Binarize(x01, stochastic: false)).view(2, -1);
        Assert.Equal(expected.narrow(1, 0, known).data<float>().ToArray(), a.narrow(1, 0, known).data<float>().ToArray());
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
        // The rest is sampled: an untrained model does not reproduce the original.
        Assert.True((a.narrow(1, known, 784 - known) - expected.narrow(1, known, 784 - known)).abs().max().item<float>() > 0);
        // Values are pixel levels.
        var levels = kind == PixelCnnOutput.Softmax256 ? a * 255 : a;
        Assert.True((levels - levels.round()).abs().max().item<float>() < 1e-4);
        Assert.Throws<GenSharpException>(() => model.Complete(images, 785, labels));
    }

    [Fact]
    public void SampleShapesAndLevels()
    {
        TorchRuntime.Seed(15);
        using var model = new PixelCnnModel(Tiny with { Conditional = true }, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var s = model.Sample(3, torch.tensor(new long[] { 0, 5, 9 }))!;
        Assert.Equal(new long[] { 3, 1, 8, 8 }, s.shape);
        Assert.True(s.min().item<float>() >= 0 && s.max().item<float>() <= 1);
        Assert.True((s * 255 - (s * 255).round()).abs().max().item<float>() < 1e-3);
        Assert.Equal(3, model.Sample(3, null)!.shape[0]);   // conditional without labels draws random classes
    }

    [Fact]
    public void SaveLoadSampleGivesIdenticalSamples()
    {
        TorchRuntime.Seed(16);
        var config = Small28 with { Conditional = true, ImageSize = 12 };   // samples are 12×12 (fast); training data is 28×28
        var family = FamilyRegistry.Get("pixelcnn");
        using var model = family.Build(config, torch.CPU);
        using var runner = new StepRunner(model.Trainable());
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        using (var scope = torch.NewDisposeScope()) runner.Step(im, lb);

        var dir = Path.Combine(TestData.TempDir(), "ckpt");
        CheckpointFolder.Save(dir, d =>
        {
            AtomicFile.WriteAllText(Path.Combine(d, CheckpointFolder.ConfigFile),
                new JsonObject { ["family"] = "pixelcnn", ["config"] = ConfigJson.ToJson(config) }.ToJsonString());
            Safetensors.Save(Path.Combine(d, CheckpointFolder.ModelFile), ModuleState.Collect(model.Model));
        });
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        Assert.Equal(config, loaded.Model.Config);
        using var labels = torch.arange(4, dtype: ScalarType.Int64);
        torch.manual_seed(7);
        using var a = ((IImageSampler)model).Sample(4, labels)!;
        torch.manual_seed(7);
        using var b = ((IImageSampler)loaded.Model).Sample(4, labels)!;
        Assert.Equal(a.data<float>().ToArray(), b.data<float>().ToArray());
    }

    [Theory]
    [InlineData(PixelCnnOutput.Softmax256)]
    [InlineData(PixelCnnOutput.Bernoulli)]
    public void TrainingLowersTheLoss(PixelCnnOutput kind)
    {
        TorchRuntime.Seed(17);
        using var model = new PixelCnnModel(Small28 with { Output = kind, LearningRate = 1e-2 }, torch.CPU);
        using var runner = new StepRunner(model);
        var loader = new BatchLoader(TestData.Train, 8, 0);
        var losses = new List<double>();
        for (int s = 0; s < 25; s++)
        {
            using var scope = torch.NewDisposeScope();
            var (im, lb) = loader.GetBatch(s);
            losses.Add(runner.Step(im, lb)["loss"]);
        }
        Assert.True(losses.Skip(20).Average() < 0.75 * losses.Take(3).Average(), $"start {losses.Take(3).Average()} end {losses.Skip(20).Average()}");
    }

    [Fact]
    public void ConfigRoundTripsAndBadFieldsAreNamed()
    {
        var json = ConfigJson.ToJson(new PixelCnnConfig { Output = PixelCnnOutput.Bernoulli });
        Assert.Equal("bernoulli", json["output"]!.GetValue<string>());
        Assert.Equal("softmax256", ConfigJson.ToJson(new PixelCnnConfig())["output"]!.GetValue<string>());
        Assert.Equal(new PixelCnnConfig { Output = PixelCnnOutput.Bernoulli }, ConfigJson.FromJson<PixelCnnConfig>(json));
        void Bad(PixelCnnConfig c, string field) =>
            Assert.Contains(field, Assert.Throws<GenSharpException>(() => c.Validate()).Message);
        Bad(Tiny with { Layers = 0 }, "layers");
        Bad(Tiny with { Channels = 0 }, "channels");
        Bad(Tiny with { KernelSize = 4 }, "kernel_size");
        Bad(Tiny with { FirstKernelSize = 1 }, "first_kernel_size");
        Bad(Tiny with { OutputHiddenChannels = 0 }, "output_hidden_channels");
        Bad(Tiny with { Output = (PixelCnnOutput)7 }, "output");
        Bad(Tiny with { LearningRate = 0 }, "learning_rate");
        Bad(Tiny with { GradClip = -1 }, "grad_clip");
        Bad(Tiny with { ImageChannels = 3 }, "image_channels");
        Bad(Tiny with { Conditional = true, NumClasses = 1 }, "num_classes");
    }

    [Fact]
    public void DivergedLossThrows()
    {
        TorchRuntime.Seed(18);
        using var model = new PixelCnnModel(Small28, torch.CPU);
        using var runner = new StepRunner(model);
        using (torch.no_grad())
            model.Network.named_parameters().First(p => p.name.StartsWith("output_logits")).parameter.fill_(double.NaN);
        using var scope = torch.NewDisposeScope();
        var (im, lb) = new BatchLoader(TestData.Train, 8, 0).GetBatch(0);
        Assert.Throws<GenSharp.Training.TrainingDivergedException>(() => runner.Step(im, lb));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void DefaultConfigSamplesSixteenImages()
    {
        TorchRuntime.Seed(19);
        using var model = new PixelCnnModel(new PixelCnnConfig(), torch.CPU);
        using var scope = torch.NewDisposeScope();
        // One intra-op thread: the per-pixel ops are tiny, and on a shared, oversubscribed machine
        // OpenMP barriers with two threads made them ~25× slower (measured: 146 ms vs 5.4 ms per pass).
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        var clock = Stopwatch.StartNew();
        Tensor s;
        try { s = model.Sample(16, null)!; }
        finally { torch.set_num_threads(threads); }
        clock.Stop();
        output.WriteLine($"sampled 16 images (28×28, default config) in {clock.Elapsed.TotalSeconds:F1} s: {16 / clock.Elapsed.TotalSeconds:F2} images/s");
        Assert.Equal(new long[] { 16, 1, 28, 28 }, s.shape);
    }
}
