using GenSharp.Data;
using GenSharp.Runtime;
using GenSharp.TextToImage;
using Xunit;
using Xunit.Abstractions;

namespace GenSharp.Tests;

public class CaptionThresholdTests
{
    readonly ITestOutputHelper _out;
    public CaptionThresholdTests(ITestOutputHelper output) { TorchRuntime.EnsureReady(); _out = output; }

    /// <summary>The default thresholds are the tertiles of the full training set (needs dataset-fashion-mnist).</summary>
    [Fact, Trait("Category", "Slow")]
    public void DefaultThresholdsAreTheTrainingSetTertiles()
    {
        if (!Directory.Exists(FashionMnist.DebianDirectory)) return;   // the package is not installed here
        using var train = FashionMnist.LoadDirectory(FashionMnist.DebianDirectory, train: true);
        var t = CaptionThresholds.FromQuantiles(ImageAttributes.Measure(train.Images));
        foreach (var k in Enum.GetValues<AttributeKind>())
            _out.WriteLine($"{k}: low {t.LowOf(k):R} high {t.HighOf(k):R}");
        foreach (var k in Enum.GetValues<AttributeKind>())
        {
            Assert.Equal(t.LowOf(k), CaptionThresholds.Default.LowOf(k), 4);
            Assert.Equal(t.HighOf(k), CaptionThresholds.Default.HighOf(k), 4);
        }
    }
}
