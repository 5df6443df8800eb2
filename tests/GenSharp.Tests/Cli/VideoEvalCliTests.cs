using System.Text.Json.Nodes;
using Xunit;

namespace GenSharp.Tests;

public sealed class VideoEvalCliTests
{
    [Fact]
    public void EvalScoresAVideoCheckpointWithBothClassifiers()
    {
        var dir = TestData.TempDir();
        string vd = Path.Combine(dir, "vd"), vc = Path.Combine(dir, "vc"), cls = Path.Combine(dir, "cls");
        var t = CliTests.Run("train", "videodiffusion", "--out", vd, "--data", "embedded", "--steps", "1", "--batch-size", "2", "--set", "frames=4",
            "--set", "base_channels=8", "--set", "channel_mult=[1,2]", "--set", "norm_groups=4", "--set", "attention_heads=2",
            "--set", "timesteps=20", "--set", "sampler_steps=2");
        Assert.True(t.Code == 0, t.Err);
        t = CliTests.Run("train", "videoclassifier", "--out", vc, "--data", "embedded", "--steps", "2", "--batch-size", "4", "--set", "frames=4",
            "--set", "channels=4", "--set", "feature_dim=8");
        Assert.True(t.Code == 0, t.Err);
        t = CliTests.Run("train", "classifier", "--out", cls, "--data", "embedded", "--steps", "2", "--batch-size", "8", "--set", "channels=4", "--set", "feature_dim=8");
        Assert.True(t.Code == 0, t.Err);

        var own = CliTests.Run("eval", vc, "--data", "embedded", "-n", "20");
        Assert.True(own.Code == 0, own.Err);
        Assert.Contains("motion-direction accuracy", own.Out);

        var json = Path.Combine(dir, "m.json");
        var gifs = Path.Combine(dir, "gifs");
        var e = CliTests.Run("eval", vd, "--data", "embedded", "-n", "4", "--batch-size", "2", "--video-classifier", vc, "--classifier", cls,
            "--json", json, "--gif-dir", gifs);
        Assert.True(e.Code == 0, e.Err);
        Assert.Contains("copy-last", e.Out);
        Assert.Contains("not I3D-FVD", e.Out);
        Assert.Contains("temporal consistency", e.Out);
        var metrics = JsonNode.Parse(File.ReadAllText(json))!;
        foreach (var key in new[] { "pred_mse", "pred_ssim", "copy_last_mse", "copy_last_ssim", "fvd_cls", "class_accuracy", "fd_cls_frames", "consistency", "gen_seconds_per_clip" })
            Assert.NotNull(metrics[key]);
        Assert.Equal(2, metrics["pred_known_frames"]!.GetValue<double>());
        Assert.True(File.Exists(Path.Combine(gifs, "generated.gif")) && File.Exists(Path.Combine(gifs, "prediction.gif")));

        // Bad input: one line that says what to change, non-zero exit.
        foreach (var (args, says) in new[]
                 {
                     (new[] { "eval", vd, "--data", "embedded", "--known-frames", "4" }, "--known-frames must be in [1, 3]"),
                     (new[] { "eval", vd, "--data", "embedded", "--video-classifier", cls }, "pass one trained with 'gensharp train videoclassifier'"),
                     (new[] { "eval", vd, "--data", "embedded", "--classifier", vc }, "pass one trained with 'gensharp train classifier'"),
                     (new[] { "eval", vd, "--data", "embedded", "--limit", "3" }, "--limit does not apply to video checkpoints"),
                     (new[] { "eval", vd, "--data", "embedded", "-n", "1" }, "-n must be in [2, 100000]"),
                     (new[] { "eval", vc, "--data", "embedded", "--guidance-scale", "2" }, "does not apply to a videoclassifier"),
                     (new[] { "eval", cls, "--data", "embedded", "--known-frames", "2" }, "applies to video checkpoints"),
                 })
        {
            var bad = CliTests.Run(args);
            Assert.True(bad.Code != 0, string.Join(" ", args));
            Assert.Contains(says, bad.Err);
            Assert.DoesNotContain("   at ", bad.Err);
        }
    }
}
