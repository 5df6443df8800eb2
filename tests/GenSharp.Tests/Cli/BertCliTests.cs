using System.Text.Json.Nodes;
using Xunit;

namespace GenSharp.Tests;

public class BertCliTests
{
    [Fact]
    public void TrainThenEvalReportsMaskedTokenLossAndAccuracy()
    {
        var dir = TestData.TempDir();
        var data = Path.Combine(dir, "text.txt");
        var source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "data", "tinyshakespeare.txt");
        File.WriteAllText(data, File.ReadAllText(source)[..20_000]);
        var run = Path.Combine(dir, "bert");
        var t = CliTests.Run("train", "bert", "--out", run, "--data", data, "--steps", "4", "--batch-size", "4",
            "--set", "num_hidden_layers=1", "--set", "hidden_size=16", "--set", "intermediate_size=32", "--set", "max_position_embeddings=18");
        Assert.True(t.Code == 0, t.Out + t.Err);
        Assert.Contains($"gensharp eval {run}", t.Out);
        var e = CliTests.Run("eval", run, "--data", data);
        Assert.True(e.Code == 0, e.Out + e.Err);
        var json = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal("bert", json["family"]!.GetValue<string>());
        double acc = json["mlm_accuracy"]!.GetValue<double>(), loss = json["mlm_loss"]!.GetValue<double>();
        Assert.InRange(acc, 0, 1);
        Assert.InRange(loss, 0.5, 8);
        // Windows of 16 tokens over the last 10% (2,000 characters): 124 windows, about 15% of their tokens masked.
        Assert.Equal(124, json["windows"]!.GetValue<double>());
        Assert.InRange(json["masked_tokens"]!.GetValue<double>(), 0.12 * 124 * 16, 0.18 * 124 * 16);
        CliTests.AssertOneLineError(CliTests.Run("eval", run), 2, "needs --data");
    }
}

public class EmbedCliTests
{
    [Fact]
    public void EmbedWritesTheFoldersEmbeddingsAsNpy()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "BertReference");
        var e = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "expected.json")))!;
        var sentences = e["sentences"]!.AsArray().Select(s => s!.GetValue<string>()).Where(s => s.Length > 0).ToArray();
        var dir = TestData.TempDir();
        var data = Path.Combine(dir, "texts.txt");
        File.WriteAllText(data, string.Join("\n\n", sentences) + "\n");             // blank lines are skipped
        var npy = Path.Combine(dir, "emb.npy");
        var r = CliTests.Run("embed", Path.Combine(root, "st_cls"), "--data", data, "--out", npy, "--batch-size", "3");
        Assert.True(r.Code == 0, r.Out + r.Err);
        var json = JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!;
        Assert.Equal((sentences.Length, 32, "cls", true), (json["texts"]!.GetValue<int>(), json["dimensions"]!.GetValue<int>(),
            json["pooling"]!.GetValue<string>(), json["normalized"]!.GetValue<bool>()));
        using var x = GenSharp.Media.Npy.Load(npy);
        Assert.Equal(new long[] { sentences.Length, 32 }, x.shape);
        var expected = e["st_cls_embeddings"]!.AsArray().Take(sentences.Length)
            .SelectMany(row => row!.AsArray().Select(v => (float)v!.GetValue<double>())).ToArray();
        var got = x.data<float>().ToArray();
        Assert.True(got.Zip(expected, (a, b) => Math.Abs(a - b)).Max() < 1e-5);
        CliTests.AssertOneLineError(CliTests.Run("embed", "minilm", "--out", npy), 2, "needs --data");
        CliTests.AssertOneLineError(CliTests.Run("embed", "minilm", "--data", data, "--out", Path.Combine(dir, "x.csv")), 1, "expected a .npy");
        CliTests.AssertOneLineError(CliTests.Run("embed", "/no/such", "--data", data, "--out", npy), 1, "neither 'minilm'");
    }
}
