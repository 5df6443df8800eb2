using GenSharp.Media;
using Xunit;

namespace GenSharp.Tests;

/// <summary>gensharp sample writes watermarked, signed images; watermark detect and provenance verify read them back.</summary>
[Collection("Console")]
public class WatermarkCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void SampleMarksAndSignsAndTheCommandsFindBoth()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "run");
        var train = Run("train", "ddpm", "--out", run, "--data", "embedded", "--steps", "2", "--batch-size", "4",
            "--sample-every", "0", "--set", "base_channels=8", "--set", "channel_mult=[1,2]", "--set", "attention_resolutions=[7]",
            "--set", "norm_groups=4", "--set", "attention_heads=2", "--set", "timesteps=50", "--set", "sampler_steps=10");
        Assert.True(train.Code == 0, train.Err);

        var png = Path.Combine(dir, "s.png");
        var sample = Run("sample", run, "--out", png, "--n", "4", "--seed", "1");
        Assert.True(sample.Code == 0, sample.Err);
        Assert.Contains("watermark: pixel + Tree-Ring (key ", sample.Out);
        Assert.True(File.Exists(png + ".provenance.json"));

        var detect = Run("watermark", "detect", png);
        Assert.True(detect.Code == 0, detect.Out + detect.Err);
        Assert.Contains($"{png}: watermarked (pixel, z = ", detect.Out);
        var tree = Run("watermark", "detect", png, "--model", run);
        Assert.Equal(5, tree.Out.Trim().Split('\n').Length);                              // the grid (pixel) + 4 cells (Tree-Ring)
        Assert.Contains($"{png} cell 3: ", tree.Out);
        Assert.Contains("tree-ring, z = ", tree.Out);

        var verify = Run("provenance", "verify", png);
        Assert.True(verify.Code == 0, verify.Out + verify.Err);
        Assert.Contains("verified: made by gensharp", verify.Out);
        Assert.Contains("ddpm model 'run'", verify.Out);
        Assert.Contains("seed 1", verify.Out);
        Assert.Contains("watermark: pixel, tree-ring", verify.Out);

        // --no-watermark: no pixel mark, no rings; the manifest says so.
        var plain = Path.Combine(dir, "plain.png");
        var unmarked = Run("sample", run, "--out", plain, "--n", "4", "--seed", "1", "--no-watermark");
        Assert.True(unmarked.Code == 0, unmarked.Err);
        Assert.Contains("watermark: none (--no-watermark)", unmarked.Out);
        var none = Run("watermark", "detect", plain);
        Assert.Equal(4, none.Code);
        Assert.Contains("not watermarked", none.Out);
        Assert.Contains("watermark: none", Run("provenance", "verify", plain).Out);

        // --no-tree-ring: the pixel mark stays, the rings go (and the provenance says so).
        var pixelOnly = Path.Combine(dir, "pixel-only.png");
        var noRing = Run("sample", run, "--out", pixelOnly, "--n", "4", "--seed", "1", "--no-tree-ring");
        Assert.True(noRing.Code == 0, noRing.Err);
        Assert.Contains("watermark: pixel (key ", noRing.Out);
        Assert.Equal(0, Run("watermark", "detect", pixelOnly).Code);
        Assert.Contains("watermark: pixel (key", Run("provenance", "verify", pixelOnly).Out);

        // .npy: every image carries the mark.
        var npy = Path.Combine(dir, "s.npy");
        Assert.Equal(0, Run("sample", run, "--out", npy, "--n", "3", "--scheduler", "ddpm", "--steps", "5").Code);
        var each = Run("watermark", "detect", npy);
        Assert.True(each.Code == 0, each.Out);
        Assert.Contains($"{npy}[2]: watermarked", each.Out);

        // A changed image fails verification with one line, exit 4.
        File.Copy(plain, png, overwrite: true);
        var tampered = Run("provenance", "verify", png);
        Assert.Equal(4, tampered.Code);
        Assert.Contains("NOT verified: the image was changed after signing", tampered.Out);

        // Another watermark key finds nothing; a missing key file is a one-line error.
        var otherKey = Path.Combine(dir, "other.key");
        File.WriteAllText(otherKey, new string('7', 64));
        Assert.Equal(4, Run("watermark", "detect", npy, "--watermark-key", otherKey).Code);
        CliTests.AssertOneLineError(Run("watermark", "detect", npy, "--watermark-key", Path.Combine(dir, "nope.key")), 1, "no watermark key at");
        CliTests.AssertOneLineError(Run("sample", run, "--out", png, "--no-watermark", "--watermark-key", otherKey), 1, "not both");
    }

    [Fact] public void DetectNeedsImages() => CliTests.AssertOneLineError(Run("watermark", "detect"), 2, "needs at least one image");
    [Fact] public void UnknownAction() => CliTests.AssertOneLineError(Run("watermark", "frobnicate"), 2, "unknown action 'frobnicate'");
    [Fact] public void MissingImage() => CliTests.AssertOneLineError(Run("watermark", "detect", "/nonexistent/x.png"), 1, "does not exist");
    [Fact] public void VerifyNeedsImages() => CliTests.AssertOneLineError(Run("provenance", "verify"), 2, "needs at least one image");
    [Fact] public void BadCanvas() => CliTests.AssertOneLineError(Run("watermark", "detect", "x.png", "--canvas", "big"), 1, "--canvas big");

    [Fact]
    public void UnsignedImageIsNotVerified()
    {
        var dir = TestData.TempDir();
        var png = Path.Combine(dir, "x.png");
        using (var x = TorchSharp.torch.zeros(1, 1, 28, 28)) ImageGrid.SavePng(x, png);
        Assert.Equal(0, Run("provenance", "key").Code);                                   // makes this machine's key
        var r = Run("provenance", "verify", png);
        Assert.Equal(4, r.Code);
        Assert.Contains("NOT verified: no provenance manifest", r.Out);
    }
}
