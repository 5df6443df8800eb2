using Xunit;

namespace GenSharp.Tests;

/// <summary>gensharp train clip + eval (zero-shot accuracy, attribute agreement, CLIP score), end to end in-process.</summary>
[Collection("Console")]
public class ClipCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void TrainThenEvaluateZeroShot()
    {
        var run = Path.Combine(TestData.TempDir(), "clip");
        var train = Run("train", "clip", "--out", run, "--data", "embedded", "--steps", "3", "--batch-size", "16",
            "--set", "embed_dim=8", "--set", "text_width=16", "--set", "text_layers=1", "--set", "text_heads=2", "--set", "image_width=8",
            "--set", "norm_groups=4");
        Assert.True(train.Code == 0, train.Err);
        var ev = Run("eval", run, "--data", "embedded", "--limit", "50");
        Assert.True(ev.Code == 0, ev.Err);
        var j = System.Text.Json.Nodes.JsonNode.Parse(ev.Out.Trim().Split('\n')[^1])!;
        Assert.InRange(j["accuracy"]!.GetValue<double>(), 0, 1);
        Assert.InRange(j["attribute_agreement"]!.GetValue<double>(), 0, 1);
        Assert.True(j["caption_clip_score"]!.GetValue<double>() >= 0);
        var bad = Run("train", "clip", "--out", run + "2", "--data", "embedded", "--steps", "1", "--set", "text_heads=3");
        Assert.Equal(1, bad.Code);
        Assert.Contains("text_heads", bad.Err);
    }
}
