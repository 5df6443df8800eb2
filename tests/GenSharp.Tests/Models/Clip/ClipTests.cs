using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Clip;
using GenSharp.Runtime;
using GenSharp.TextToImage;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class ClipTests
{
    public ClipTests() => TorchRuntime.EnsureReady();

    static ClipConfig Tiny => new() { EmbedDim = 8, TextWidth = 16, TextLayers = 1, TextHeads = 2, ContextLength = 12, ImageWidth = 8, NormGroups = 4 };

    static JsonObject Meta(ClipConfig c) => new() { ["family"] = "clip", ["config"] = ConfigJson.ToJson(c) };

    [Fact]
    public void TokenizerEncodesTheCaptionVocabulary()
    {
        var ids = ClipTokenizer.Encode("A dark, patterned Ankle boot", 10);
        Assert.Equal(10, ids.Length);
        Assert.Equal(ClipTokenizer.Start, ids[0]);
        Assert.Equal("a dark , patterned ankle boot", ClipTokenizer.Decode(ids));
        Assert.Equal(ClipTokenizer.End, ids[7]);
        Assert.All(ids[8..], i => Assert.Equal(ClipTokenizer.Pad, i));
        Assert.Equal(ClipTokenizer.Encode("a light bag", 8), ClipTokenizer.Encode("a bright bag", 8));
        Assert.Contains(ClipTokenizer.Unknown, ClipTokenizer.Encode("a purple bag", 8));
        var cut = ClipTokenizer.Encode("a photo of a dark wide plain small sandal", 5);
        Assert.Equal(new long[] { ClipTokenizer.Start, 4, 6, 7, ClipTokenizer.End }, cut);
        // Every word the captioner can say is in the vocabulary.
        foreach (var k in Enum.GetValues<AttributeKind>())
            foreach (var high in new[] { false, true })
                Assert.DoesNotContain(ClipTokenizer.Unknown, ClipTokenizer.Encode(FashionCaptioner.Word(k, high), 4));
        foreach (var noun in FashionCaptioner.Nouns)
            for (int p = 0; p < FashionCaptioner.Phrasings; p++)
                Assert.DoesNotContain(ClipTokenizer.Unknown, ClipTokenizer.Encode(FashionCaptioner.Phrase(noun, new[] { "dark", "wide" }, p), 16));
    }

    [Fact]
    public void TextEncoderIsCausalAndPoolsAtTheEndToken()
    {
        TorchRuntime.Seed(1);
        using var net = new ClipNetwork(Tiny);
        using var scope = torch.NewDisposeScope();
        var a = ClipTokenizer.Encode(new[] { "a dark shirt", "a dark bag" }, 12);
        var (states, emb) = net.EncodeText(a);
        Assert.Equal(new long[] { 2, 12, 16 }, states.shape);
        Assert.Equal(new long[] { 2, 8 }, emb.shape);
        // The two prompts differ only at position 3: positions 0..2 have identical states (no leak from the future).
        Assert.True((states[0, ..3] - states[1, ..3]).abs().max().item<float>() < 1e-6);
        Assert.True((states[0, 3] - states[1, 3]).abs().max().item<float>() > 1e-4);
        // The embedding is the projected state at the end token (position 4), whatever the padding length.
        var (states16, emb16) = net.EncodeText(ClipTokenizer.Encode(new[] { "a dark shirt" }, 7));
        Assert.True((emb16[0] - emb[0]).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void LossIsTheSymmetricCrossEntropyOfScaledCosines()
    {
        TorchRuntime.Seed(2);
        using var model = new ClipModel(Tiny, torch.CPU);
        using var scope = torch.NewDisposeScope();
        var images = torch.rand(4, 1, 28, 28);
        var tokens = ClipTokenizer.Encode(new[] { "a dark shirt", "a bag", "a wide sandal", "a photo of a coat" }, 12);
        var loss = model.Loss(images, tokens, out var logits).item<float>();
        // Independent: normalise by hand, logits = scale·cos, loss = mean of the row and column log-softmax terms.
        var net = model.Network;
        var i = net.EncodeImage(images).detach(); var t = net.EncodeText(tokens).Embedding.detach();
        var li = i.data<float>().ToArray(); var lt = t.data<float>().ToArray();
        double scale = 1 / 0.07;
        var cos = new double[4, 4];
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
            {
                double dot = 0, ni = 0, nt = 0;
                for (int e = 0; e < 8; e++) { dot += li[r * 8 + e] * lt[c * 8 + e]; ni += li[r * 8 + e] * li[r * 8 + e]; nt += lt[c * 8 + e] * lt[c * 8 + e]; }
                cos[r, c] = scale * dot / Math.Sqrt(ni * nt);
            }
        double rows = 0, cols = 0;
        for (int r = 0; r < 4; r++)
        {
            rows += -cos[r, r] + Math.Log(Enumerable.Range(0, 4).Sum(c => Math.Exp(cos[r, c])));
            cols += -cos[r, r] + Math.Log(Enumerable.Range(0, 4).Sum(c => Math.Exp(cos[c, r])));
        }
        Assert.Equal((rows + cols) / 8, loss, 3);
        Assert.Equal(new long[] { 4, 4 }, logits.shape);
    }

    [Fact]
    public void TrainingStepsLowerTheLossOnAFixedBatchAndCaptionsRepeat()
    {
        TorchRuntime.Seed(3);
        using var model = new ClipModel(Tiny with { LearningRate = 3e-3 }, torch.CPU);
        var (im, lb) = new BatchLoader(TestData.Train, 32, 0).GetBatch(0);
        Assert.Equal(model.TrainingCaptions(im, lb, 5), model.TrainingCaptions(im, lb, 5));
        Assert.NotEqual(model.TrainingCaptions(im, lb, 5), model.TrainingCaptions(im, lb, 6));
        using var runner = new StepRunner(model);
        var first = runner.Step(im, lb)["loss"];
        double last = first;
        for (int s = 0; s < 30; s++) last = runner.Step(im, lb)["loss"];
        Assert.True(last < first * 0.9 && last < Math.Log(32), $"loss {first} → {last}");
    }

    [Fact]
    public void TrainerSavesAndTheLoadedModelScoresAlike()
    {
        TorchRuntime.Seed(4);
        using var model = new ClipModel(Tiny, torch.CPU);
        var dir = TestData.TempDir();
        var r = new Trainer(model, new BatchLoader(TestData.Train, 16, 0), new TrainOptions { Steps = 2, BatchSize = 16, SampleEvery = 1 },
            dir, Meta(Tiny), torch.CPU).Run();
        Assert.Equal(2, r.Step);
        using var loaded = Checkpoint.LoadModel(Path.Combine(dir, "checkpoint"), torch.CPU);
        var clip = Assert.IsType<ClipModel>(loaded.Model);
        using var data = TestData.Test.Take(40);
        using var x = ImageTransforms.ToFloat(data.Images, PixelScale.ZeroOne);
        var prompts = Enumerable.Repeat("a dark shirt", 40).ToArray();
        using var a = model.Score(x, prompts);
        using var b = clip.Score(x, prompts);
        Assert.True((a - b).abs().max().item<float>() < 1e-4);
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 100);

        // Zero-shot evaluation: accuracy equals the argmax of the zero-shot logits; agreement is a fraction.
        var ev = clip.Evaluate(data, batchSize: 16);
        using var logits = clip.Logits(x);
        Assert.Equal(new long[] { 40, 10 }, logits.shape);
        Assert.Equal(logits.argmax(1).eq(data.Labels).to(ScalarType.Float64).mean().item<double>(), ev["accuracy"], 9);
        Assert.InRange(ev["attribute_agreement"], 0, 1);
        Assert.InRange(ev["attribute_agreement_brightness"], 0, 1);
        Assert.Equal(40, ev["items"]);
        var (states, mask) = clip.TokenStates(new[] { "a dark shirt", "bag" });
        Assert.Equal(new long[] { 2, 12, 16 }, states.shape);
        Assert.Equal(new[] { true, true, true, true, true, false }, mask[0, ..6].data<bool>().ToArray());
        Assert.Equal(new[] { true, true, true, false }, mask[1, ..4].data<bool>().ToArray());
    }

    [Fact]
    public void ConfigNamesTheBadField()
    {
        Assert.Contains("text_heads", Assert.Throws<GenSharpException>(() => (Tiny with { TextHeads = 3 }).Validate()).Message);
        Assert.Contains("image_channels", Assert.Throws<GenSharpException>(() => (Tiny with { ImageChannels = 3 }).Validate()).Message);
        Assert.Contains("num_classes", Assert.Throws<GenSharpException>(() => (Tiny with { NumClasses = 4 }).Validate()).Message);
    }
}
