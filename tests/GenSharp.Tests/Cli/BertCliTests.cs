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
