using System.Text.Json.Nodes;
using GenSharp.Media;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Checkpoints written by the release before the issue-14 redesign (commit f82a003; made by
/// <c>Fixtures/Legacy/make.sh</c>) still load, and sample the images (or text) that release sampled with the same seed.
/// </summary>
[Collection("Console")]
public class LegacyCheckpointTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Legacy", name);

    public static TheoryData<string> ImageFamilies => new() { "vae", "dcgan", "pixelcnn", "realnvp", "glow", "ddpm", "rbm", "dbn", "ebm" };

    [Theory]
    [MemberData(nameof(ImageFamilies))]
    public void SamplesTheSameImagesAsThePreviousRelease(string family)
    {
        var outPath = Path.Combine(TestData.TempDir(), "s.npy");
        // --no-watermark: the release before had none; the pixel mark changes a few grey levels and Tree-Ring (ddpm's
        // default DDIM) x_T's low frequencies. WatermarkCliTests checks the marked output.
        var r = CliTests.Run("sample", Fixture(family), "--out", outPath, "--n", "4", "--seed", "3", "--no-watermark");
        Assert.True(r.Code == 0, r.Err);
        using var expected = Npy.Load(Fixture(family + ".samples.npy"));
        using var actual = Npy.Load(outPath);
        Assert.Equal(expected.shape, actual.shape);
        var e = expected.data<byte>().ToArray();
        var a = actual.data<byte>().ToArray();
        // Same machine: identical bytes. A CPU with other SIMD kernels may round a few pixels differently, never many.
        int off = e.Zip(a).Count(p => Math.Abs(p.First - p.Second) > 2);
        Assert.True(off <= e.Length / 100, $"{family}: {off} of {e.Length} pixels differ by more than 2 levels from the previous release's samples");
    }

    [Fact]
    public void GptGeneratesTheSameText()
    {
        var r = CliTests.Run("generate", Fixture("gpt"), "--prompt", "ROMEO:", "--max-tokens", "20", "--temperature", "0.8", "--seed", "3");
        Assert.True(r.Code == 0, r.Err);
        var expected = File.ReadAllText(Fixture("gpt.generated.txt")).TrimEnd('\n');
        Assert.StartsWith(expected, r.Out);
    }

    [Fact]
    public void ClassifierEvaluatesTheSame()
    {
        var r = CliTests.Run("eval", Fixture("classifier"), "--data", "embedded", "--limit", "50");
        Assert.True(r.Code == 0, r.Err);
        var expected = JsonNode.Parse(File.ReadAllText(Fixture("classifier.eval.json")))!.AsObject();
        var actual = JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal(expected["accuracy"]!.GetValue<double>(), actual["accuracy"]!.GetValue<double>());
        Assert.Equal(expected["loss"]!.GetValue<double>(), actual["loss"]!.GetValue<double>(), 4);
    }
}
