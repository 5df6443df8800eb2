using GenSharp.Checkpoints;
using GenSharp.Media.Audio;
using GenSharp.Models;
using GenSharp.Models.Audio;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Audio;

public sealed class WaveNetTests
{
    public WaveNetTests() => TorchRuntime.EnsureReady();

    // 4 layers, dilations 1, 2, 4, 1: receptive field 9.
    static WaveNetConfig Tiny(WaveNetConditioning conditioning = WaveNetConditioning.None) => new()
    {
        Layers = 4, DilationCycle = 3, ResidualChannels = 8, GateChannels = 8, SkipChannels = 16, ConditionChannels = 8,
        Mels = 10, NFft = 64, Hop = 16, SampleLength = 160, Conditioning = conditioning, EvalInterval = 2, EvalBatches = 1,
    };

    static Tensor RandomCodes(long b, long t, int seed)
    {
        using var gen = new Generator((ulong)seed);
        return torch.randint(0, 256, new long[] { b, t }, generator: gen, dtype: ScalarType.Int64);
    }

    [Fact]
    public void WaveNetConfigKnowsItsReceptiveFieldAndValidates()
    {
        Assert.Equal(9, Tiny().ReceptiveField);
        Assert.Equal(511, new WaveNetConfig().ReceptiveField);   // 2 × (1 + 2 + … + 128) + 1
        var e = Assert.Throws<GenSharpException>(() => (new WaveNetConfig() with { SampleLength = 2401 }).Validate());
        Assert.Contains("sample_length", e.Message);
        Assert.Contains("wavenet", FamilyRegistry.All.Select(f => f.Name));
    }

    [Fact]
    public void WaveNetLogitsDependOnlyOnTheReceptiveFieldOfThePast()
    {
        TorchRuntime.Seed(1);
        using var net = new WaveNetNetwork(Tiny());
        net.eval();
        using var _ = torch.no_grad();
        using var codes = RandomCodes(2, 40, 2);
        using var logits = net.Forward(codes, null, 0);
        Assert.Equal(new long[] { 2, 256, 40 }, logits.shape);
        const int k = 20;
        using var changed = codes.clone();
        changed[0, k] = torch.tensor((codes[0, k].item<long>() + 100) % 256);
        using var logits2 = net.Forward(changed, null, 0);
        var diff = (logits2 - logits).abs().amax(new long[] { 1 })[0];                    // (T) for item 0
        for (int q = 0; q < 40; q++)
        {
            float d = diff[q].item<float>();
            if (q < k || q >= k + 9) Assert.True(d == 0, $"position {q} changed ({d}) by input {k}");
            else if (q == k || q == k + 8) Assert.True(d > 1e-6, $"position {q} did not see input {k}");
        }
        Assert.True((logits2[1] - logits[1]).abs().max().item<float>() == 0);   // other batch items untouched
    }

    /// <summary>
    /// WaveNet written the textbook way, from the network's parameters: (B, C, T) activations, libtorch's dilated conv1d
    /// over the left-padded stream, 1×1 conv1d everywhere else, the frame gates repeated hop times.
    /// </summary>
    static Tensor ConvolutionalLogits(WaveNetNetwork net, WaveNetConfig c, Tensor codes, Tensor mel, long offset)
    {
        var p = net.named_parameters().ToDictionary(kv => kv.name, kv => kv.parameter);
        long t = codes.shape[1];
        var x = p["embed.weight"].index_select(0, codes.flatten()).view(codes.shape[0], t, -1).transpose(1, 2);     // (B, R, T)
        var features = torch.tanh(nn.functional.conv1d(mel, p["condition_in.weight"], p["condition_in.bias"], padding: 1));
        Tensor skips = torch.zeros(1);
        for (int i = 0; i < c.Layers; i++)
        {
            int d = c.Dilation(i);
            var g = nn.functional.conv1d(features, p[$"layers.{i}.condition.weight"]).repeat_interleave(c.Hop, 2).narrow(2, offset, t);
            var h = nn.functional.conv1d(nn.functional.pad(x, new long[] { d, 0 }), p[$"layers.{i}.dilated.weight"], p[$"layers.{i}.dilated.bias"], dilation: d) + g;
            var z = torch.tanh(h.narrow(1, 0, c.GateChannels)) * torch.sigmoid(h.narrow(1, c.GateChannels, c.GateChannels));
            x = x + nn.functional.conv1d(z, p[$"layers.{i}.residual.weight"], p[$"layers.{i}.residual.bias"]);
            skips = skips + nn.functional.conv1d(z, p[$"layers.{i}.skip.weight"], p[$"layers.{i}.skip.bias"]);
        }
        var hidden = nn.functional.relu(nn.functional.conv1d(nn.functional.relu(skips), p["head_hidden.weight"], p["head_hidden.bias"]));
        return nn.functional.conv1d(hidden, p["head_out.weight"], p["head_out.bias"]);                              // (B, 256, T)
    }

    [Fact]
    public void WaveNetEqualsItsConvolutionalDefinitionForwardAndBackward()
    {
        TorchRuntime.Seed(12);
        var config = Tiny(WaveNetConditioning.Mel);
        using var model = new WaveNetModel(config, torch.CPU);
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(13);
        var codes = torch.randint(0, 256, new long[] { 2, 70 }, generator: gen, dtype: ScalarType.Int64);
        var mel = torch.randn(new long[] { 2, config.Mels, 6 }, generator: gen);                         // 96 samples of frames
        var mine = model.Network.Forward(codes, mel, conditionOffset: 9);
        var reference = ConvolutionalLogits(model.Network, config, codes, mel, 9);
        Assert.Equal(reference.shape, mine.shape);
        Assert.True((mine - reference).abs().max().item<float>() < 1e-5, $"logits differ by {(mine - reference).abs().max().item<float>()}");
        // The training loss and its gradients: every parameter's.
        var audio = (torch.rand(new long[] { 2, 160 }, generator: gen) - 0.5) * 0.6;
        var frames = torch.randn(new long[] { 2, config.Mels, 10 }, generator: gen);
        // The last layer's residual output feeds nothing (only its skip does): its weights get no gradient either way.
        var parameters = model.Network.named_parameters().Where(kv => !kv.name.StartsWith($"layers.{config.Layers - 1}.residual")).ToList();
        var loss = model.CropLoss(audio, frames);
        var grads = torch.autograd.grad(new[] { loss }, parameters.Select(kv => (Tensor)kv.parameter).ToList());
        var q = MuLaw.Encode(audio);
        var refLogits = ConvolutionalLogits(model.Network, config, q.narrow(1, 0, 159), frames, 1);
        var refLoss = nn.functional.cross_entropy(refLogits, q.narrow(1, 1, 159));
        var refGrads = torch.autograd.grad(new[] { refLoss }, parameters.Select(kv => (Tensor)kv.parameter).ToList());
        Assert.True(Math.Abs(loss.item<float>() - refLoss.item<float>()) < 1e-5, $"loss {loss.item<float>()} against {refLoss.item<float>()}");
        for (int i = 0; i < grads.Count; i++)
        {
            float err = (grads[i] - refGrads[i]).abs().max().item<float>(), size = refGrads[i].abs().max().item<float>();
            Assert.True(err <= 1e-5 + 1e-4 * size, $"{parameters[i].name}: gradient differs by {err} (largest {size})");
        }
    }

    [Theory]
    [InlineData(WaveNetConditioning.None)]
    [InlineData(WaveNetConditioning.Mel)]
    public void WaveNetQueuedGenerationDrawsTheSameSamplesAsTheFullNetwork(WaveNetConditioning conditioning)
    {
        TorchRuntime.Seed(3);
        var config = Tiny(conditioning);
        using var model = new WaveNetModel(config, torch.CPU);
        // Sharpen the untrained head so the samples are not near-uniform noise: differences would show.
        using (torch.no_grad()) foreach (var (name, p) in model.Network.named_parameters()) if (name.StartsWith("head_out")) p.mul_(20);
        Tensor? mel = null;
        if (conditioning == WaveNetConditioning.Mel)
        {
            using var gen = new Generator(4);
            using var audio = (torch.rand(new long[] { 400 }, generator: gen) - 0.5) * 0.5;
            mel = Spectrogram.LogMel(audio, config.Mel);                                    // (10, 26)
        }
        var options = new AudioGenerationOptions { Count = 3, Samples = 200, Seed = 11, Mel = mel };
        using var fast = model.Generate(options);
        using var naive = model.Generate(options with { Naive = true });
        using var other = model.Generate(options with { Seed = 12 });
        Assert.Equal(new long[] { 3, 200 }, fast.shape);
        Assert.True(fast.eq(naive).all().item<bool>(), "queued and naive generation differ");
        Assert.False(fast.eq(other).all().item<bool>());
        Assert.True(MuLaw.Encode(fast).unique().Item1.shape[0] > 10);  // not a constant
        mel?.Dispose();
    }

    [Fact]
    public void WaveNetDrawsSpectrogramsOfDifferentLengthsInOneBatch()
    {
        TorchRuntime.Seed(8);
        var config = Tiny(WaveNetConditioning.Mel);
        using var model = new WaveNetModel(config, torch.CPU);
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(9);
        var longMel = Spectrogram.LogMel((torch.rand(new long[] { 400 }, generator: gen) - 0.5) * 0.5, config.Mel);   // (10, 26)
        var shortMel = Spectrogram.LogMel((torch.rand(new long[] { 150 }, generator: gen) - 0.5) * 0.5, config.Mel);  // (10, 10)
        Assert.True(shortMel.shape[1] < longMel.shape[1]);
        // The zero frames that pad the short one change none of its own frames' conditioning.
        using (torch.no_grad())
        {
            model.Network.eval();
            var padded = torch.nn.functional.pad(shortMel, new long[] { 0, longMel.shape[1] - shortMel.shape[1] });
            var together = model.Network.FrameGates(torch.stack(new[] { longMel, padded }));
            var alone = model.Network.FrameGates(shortMel.unsqueeze(0));
            for (int layer = 0; layer < alone.Count; layer++)
            {
                var mine = together[layer][1].narrow(1, 0, shortMel.shape[1]);
                Assert.True((mine - alone[layer][0]).abs().max().item<float>() < 1e-6, $"layer {layer}: padding changed the short spectrogram's gates");
            }
        }
        var options = new AudioGenerationOptions { Mels = new[] { longMel, shortMel }, Samples = 100_000, Seed = 2 };
        var fast = model.Generate(options);
        Assert.Equal(new long[] { 2, longMel.shape[1] * config.Hop }, fast.shape);       // as long as the longest
        Assert.True(fast.eq(model.Generate(options with { Naive = true })).all().item<bool>(), "queued and naive differ on a ragged batch");
        // One spectrogram per row, all the same, is the shared-spectrogram call.
        var shared = model.Generate(new AudioGenerationOptions { Mel = longMel, Count = 2, Samples = 300, Seed = 4 });
        var each = model.Generate(new AudioGenerationOptions { Mels = new[] { longMel, longMel }, Samples = 300, Seed = 4 });
        Assert.True(shared.eq(each).all().item<bool>());
        Assert.Throws<ParameterException>(() => model.Generate(options with { Mel = longMel }));
        Assert.Throws<ParameterException>(() => model.Generate(new AudioGenerationOptions { Mels = Array.Empty<Tensor>() }));
        Assert.Throws<ParameterException>(() => model.Generate(new AudioGenerationOptions { Mel = longMel, Count = 0 }));
        Assert.Throws<ParameterException>(() => model.Generate(new AudioGenerationOptions { Mel = longMel, Count = -1 }));
        Assert.Throws<ParameterException>(() => model.Generate(new AudioGenerationOptions { Mels = new[] { longMel.narrow(0, 0, 5) } }));
    }

    [Fact]
    public void WaveNetNegativeLogLikelihoodMatchesAFullPassAndIsEightBitsWhenUniform()
    {
        TorchRuntime.Seed(5);
        var config = Tiny(WaveNetConditioning.Mel);
        using var model = new WaveNetModel(config, torch.CPU);
        using var gen = new Generator(6);
        using var audio = (torch.rand(new long[] { 40_000 }, generator: gen) - 0.5) * 0.8;  // > one scoring chunk of 16000
        var (nats, n) = model.NegativeLogLikelihood(audio);
        Assert.Equal(40_000, n);
        // Independent: one pass over the whole recording, the first sample predicted from the silent code.
        using (torch.no_grad())
        {
            var codes = MuLaw.Encode(audio);
            var inputs = torch.cat(new[] { torch.tensor(new long[] { 128 }), codes.narrow(0, 0, 39_999) }).unsqueeze(0);
            var logits = model.Network.Forward(inputs, Spectrogram.LogMel(audio, config.Mel).unsqueeze(0), 0);
            double whole = torch.nn.functional.cross_entropy(logits, codes.unsqueeze(0), reduction: nn.Reduction.Sum).item<float>();
            Assert.Equal(whole, nats, whole * 1e-5);
        }
        // A head that outputs zeros is the uniform distribution: exactly 8 bits per sample.
        using (torch.no_grad()) foreach (var (name, p) in model.Network.named_parameters()) if (name.StartsWith("head_out")) p.zero_();
        var (uniform, m) = model.NegativeLogLikelihood(audio);
        Assert.Equal(8.0, uniform / m / Math.Log(2), 5);
    }

    [Fact]
    public void WaveNetTrainsOnTheAllisonCorpusSavesLoadsAndGenerates()
    {
        var dir = TestData.TempDir();
        var sets = new[] { "layers=4", "dilation_cycle=3", "residual_channels=8", "gate_channels=8", "skip_channels=16",
                           "condition_channels=8", "sample_length=800", "eval_interval=2", "eval_batches=1" };
        var r = TrainingRun.Run(new TrainRequest { Family = "wavenet", OutDir = dir, Data = "allison", Steps = 4, BatchSize = 2, Seed = 7, Sets = sets }, TrainingProgress.Silent);
        Assert.Equal(4, r.Step);
        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"));
        Assert.Contains(lines, l => l.Contains("val_bits_per_sample"));
        Assert.Contains(lines, l => l.Contains("\"bits_per_sample\""));
        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var audio = Assert.IsAssignableFrom<IAudioModel>(loaded.Model);
        Assert.True(audio.NeedsMel);
        var utterance = GenSharp.Data.AllisonCorpus.Load().Test[0];
        using var x = GenSharp.Data.AllisonCorpus.ReadAudio(utterance).ToTensor();
        using var mel = Spectrogram.LogMel(x, audio.Mel);
        using var wave = audio.Generate(new AudioGenerationOptions { Samples = 400, Mel = mel, Seed = 1 });
        Assert.Equal(new long[] { 1, 400 }, wave.shape);
        var (nats, n) = audio.NegativeLogLikelihood(x.narrow(0, 0, 4000));
        Assert.InRange(nats / n / Math.Log(2), 1.0, 8.5);
        // Resume continues the same run.
        var r2 = TrainingRun.Run(new TrainRequest { Family = "wavenet", OutDir = dir, Steps = 6, Resume = true }, TrainingProgress.Silent);
        Assert.Equal(6, r2.Step);
        var bad = Assert.Throws<ParameterException>(() => TrainingRun.Run(new TrainRequest { Family = "wavenet", OutDir = TestData.TempDir(), Data = "allison", Steps = 1, Limit = 3 }, TrainingProgress.Silent));
        Assert.Equal("limit", bad.Parameter);
    }

    [Fact]
    public void WaveNetOverfitsOneCrop()
    {
        TorchRuntime.Seed(9);
        var config = Tiny();
        using var model = new WaveNetModel(config, torch.CPU);
        using var gen = new Generator(10);
        var t = torch.linspace(0, 1, 160);
        using var audio = (torch.sin(t * 2 * Math.PI * 10) * 0.5).unsqueeze(0).to(ScalarType.Float32);  // (1, 160) a sine
        using var mel = torch.zeros(1, 10, 10);
        using var opt = torch.optim.Adam(model.Network.parameters(), 3e-3);
        double first = 0, last = 0;
        for (int i = 0; i < 60; i++)
        {
            using var scope = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = model.CropLoss(audio, mel);
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.6, $"loss {first} → {last}");
    }
}
