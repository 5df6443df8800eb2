using GenSharp.Media;
using Xunit;

namespace GenSharp.Tests;

/// <summary>gensharp train ddpm + sample with scheduler flags, strip, GIF and inpainting, end to end in-process.</summary>
[Collection("Console")]
public class DiffusionCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void TrainThenSampleWithDdimStripGifAndInpaint()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "run");
        var train = Run("train", "ddpm", "--out", run, "--data", "embedded", "--steps", "3", "--batch-size", "8",
            "--sample-every", "0", "--set", "base_channels=8", "--set", "channel_mult=[1,2]", "--set", "attention_resolutions=[14]",
            "--set", "norm_groups=4", "--set", "attention_heads=2", "--set", "timesteps=20", "--set", "sampler_steps=2",
            "--set", "conditional=true");
        Assert.True(train.Code == 0, train.Err);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint", "ema.safetensors")), "ddpm keeps EMA weights by default");

        string png = Path.Combine(dir, "s.png"), strip = Path.Combine(dir, "strip.png"), gif = Path.Combine(dir, "s.gif");
        var sample = Run("sample", run, "--out", png, "--n", "10", "--scheduler", "ddim", "--steps", "5", "--guidance-scale", "2",
            "--strip", strip, "--gif", gif);
        Assert.True(sample.Code == 0, sample.Err);
        Assert.Contains("images/s", sample.Out);
        var (w, h, _) = Png.Decode(strip);
        Assert.Equal(8 * 28 + 7 * 2, h);     // 8 rows (samples) …
        Assert.Equal(6 * 28 + 5 * 2, w);     // … × (x_T + 5 steps) columns
        Assert.Equal("GIF89a", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(gif), 0, 6));

        string inpainted = Path.Combine(dir, "inpaint.png");
        var inpaint = Run("sample", run, "--out", inpainted, "--inpaint", "test:2", "--data", "embedded", "--mask", "center",
            "--n", "3", "--scheduler", "ddpm", "--steps", "20", "--class", "1", "--resample", "2", "--jump", "5");
        Assert.True(inpaint.Code == 0, inpaint.Err);
        var (iw, ih, _) = Png.Decode(inpainted);
        Assert.Equal((5 * 56 + 4 * 2, 2 * 56 + 1 * 2), (iw, ih));   // 2 rows (×2 enlarged): known part, 3 inpaintings, original

        // eval --classifier draws its samples with the scheduler flags and records them.
        var cls = Path.Combine(dir, "cls");
        Assert.Equal(0, Run("train", "classifier", "--out", cls, "--data", "embedded", "--steps", "2", "--batch-size", "8",
            "--set", "channels=4", "--set", "feature_dim=8", "--set", "convs_per_stage=1").Code);
        var ev = Run("eval", run, "--classifier", cls, "--n", "20", "--data", "embedded", "--no-memorisation", "--quality-only",
            "--scheduler", "ddim", "--steps", "3", "--guidance-scale", "1.5");
        Assert.True(ev.Code == 0, ev.Err);
        Assert.Contains("skipping the family's own test metrics", ev.Out);
        var j = System.Text.Json.Nodes.JsonNode.Parse(ev.Out.Trim().Split('\n')[^1])!;
        Assert.Equal("ddim", j["scheduler"]!.GetValue<string>());
        Assert.Equal(3, j["sampler_steps"]!.GetValue<int>());
        Assert.Equal(1.5, j["guidance_scale"]!.GetValue<double>());
        Assert.True(j["fd_cls"]!.GetValue<double>() > 0);
        Assert.True(j["class_agreement"] is not null);
        // eval --inpaint-mask: inpaint N test images with resampling and score them against the originals.
        var evInpaint = Run("eval", run, "--classifier", cls, "--n", "12", "--data", "embedded", "--inpaint-mask", "center",
            "--scheduler", "ddpm", "--steps", "4", "--resample", "2", "--jump", "2", "--batch-size", "5");
        Assert.True(evInpaint.Code == 0, evInpaint.Err);
        var ji = System.Text.Json.Nodes.JsonNode.Parse(evInpaint.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(12, ji["n"]!.GetValue<int>());
        Assert.Equal(2, ji["resample"]!.GetValue<int>());
        Assert.Equal(2, ji["jump"]!.GetValue<int>());
        Assert.Equal(0.75, ji["known_fraction"]!.GetValue<double>(), 6);   // all but the central 14×14 square
        Assert.InRange(ji["inpaint_accuracy"]!.GetValue<double>(), 0, 1);
        Assert.True(ji["inpaint_fd_cls"]!.GetValue<double>() >= 0);
        Assert.True(ji["inpaint_rmse"]!.GetValue<double>() > 0);
        var stray = Run("sample", run, "--out", png, "--jump", "3");
        Assert.Equal(1, stray.Code);
        Assert.Contains("--jump goes with --inpaint", stray.Err);
        var evBad = Run("eval", cls, "--classifier", cls, "--n", "20", "--data", "embedded", "--steps", "3");
        Assert.Equal(1, evBad.Code);

        foreach (var name in new[] { "euler", "euler-a", "dpm++2m" })
        {
            var other = Run("sample", run, "--out", png, "--n", "3", "--scheduler", name, "--steps", "4", "--seed", "3");
            Assert.True(other.Code == 0, other.Err);
            Assert.Contains($"scheduler {name}", other.Out);
        }
        var bad = Run("sample", run, "--out", png, "--scheduler", "heun");
        Assert.Equal(1, bad.Code);
        Assert.Contains("unknown scheduler", bad.Err);
        var noMask = Run("sample", run, "--out", png, "--inpaint", "test:1", "--data", "embedded");
        Assert.Equal(1, noMask.Code);
        Assert.Contains("--mask", noMask.Err);
    }
}
