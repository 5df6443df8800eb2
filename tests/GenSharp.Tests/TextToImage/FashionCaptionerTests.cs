using GenSharp.Data;
using GenSharp.Runtime;
using GenSharp.TextToImage;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class FashionCaptionerTests
{
    public FashionCaptionerTests() => TorchRuntime.EnsureReady();

    /// <summary>A 28×28 image (values in [0,1]) with a w×h rectangle at (left, top) filled by <paramref name="fill"/>(row, col).</summary>
    static float[,] Rect(int left, int top, int w, int h, Func<int, int, float> fill)
    {
        var img = new float[28, 28];
        for (int r = top; r < top + h; r++)
            for (int c = left; c < left + w; c++) img[r, c] = fill(r, c);
        return img;
    }

    static Tensor Batch(params float[][,] images)
    {
        var flat = images.SelectMany(i => i.Cast<float>()).ToArray();
        return torch.tensor(flat).reshape(images.Length, 1, 28, 28);
    }

    [Fact]
    public void AttributesFollowTheirDefinitionsOnConstructedImages()
    {
        var solid = Rect(10, 4, 4, 20, (_, _) => 0.4f);                                   // 4 wide, 20 tall, flat 0.4
        var checker = Rect(1, 3, 26, 22, (r, c) => (r + c) % 2 == 0 ? 1f : 0.5f);         // 26 × 22, checkerboard 1 / 0.5
        var empty = new float[28, 28];
        using var images = Batch(solid, checker, empty);
        var m = ImageAttributes.Measure(images);
        Assert.Equal(3, m.Count);
        Assert.Equal(0.4, m.Brightness[0], 6);
        Assert.Equal(80.0 / 784, m.Area[0], 9);
        Assert.Equal(4.0 / 20, m.Aspect[0], 9);
        Assert.Equal(0, m.Texture[0], 6);
        Assert.Equal(0, m.Contrast[0], 6);

        Assert.Equal(0.75, m.Brightness[1], 6);
        Assert.Equal(26.0 * 22 / 784, m.Area[1], 9);
        Assert.Equal(26.0 / 22, m.Aspect[1], 9);
        Assert.Equal(0.5, m.Texture[1], 6);      // every neighbour pair differs by 0.5
        Assert.InRange(m.Contrast[1], 0.2499, 0.2501);   // half 1, half 0.5 (26×22 even count)

        Assert.Equal(0, m.Brightness[2]);
        Assert.Equal(0, m.Area[2]);
        Assert.Equal(1, m.Aspect[2]);

        // Uint8 input measures the same as [0,1] floats.
        using var bytes = (images * 255).round().to(ScalarType.Byte);
        var mb = ImageAttributes.Measure(bytes);
        Assert.Equal(m.Aspect, mb.Aspect);
        Assert.Equal(0.4, mb.Brightness[0], 2);

        var captioner = new FashionCaptioner(mentionProbability: 1);
        Assert.Equal(new[] { (AttributeKind.Brightness, false), (AttributeKind.Size, false), (AttributeKind.Width, false), (AttributeKind.Pattern, false), (AttributeKind.Contrast, false) },
            captioner.Applicable(m, 0));
        Assert.Equal(new[] { (AttributeKind.Brightness, true), (AttributeKind.Size, true), (AttributeKind.Width, true), (AttributeKind.Pattern, true), (AttributeKind.Contrast, true) },
            captioner.Applicable(m, 1));
        var caption = captioner.Caption(5, m, 0, new Random(1));
        foreach (var word in new[] { "sandal", "dark", "small", "narrow", "plain", "low-contrast" }) Assert.Contains(word, caption);
        var light = captioner.Caption(8, m, 1, new Random(2));
        foreach (var word in new[] { "bag", "light", "large", "wide", "patterned", "high-contrast" }) Assert.Contains(word, light);
    }

    [Fact]
    public void MeasurementsMatchPlainLoopsOnRandomImages()
    {
        using var g = new Generator(3);
        using var mask = torch.rand(new long[] { 6, 1, 28, 28 }, generator: g) < 0.5;
        using var images = torch.rand(new long[] { 6, 1, 28, 28 }, generator: g) * mask;
        var m = ImageAttributes.Measure(images);
        var px = images.data<float>().ToArray();
        for (int i = 0; i < 6; i++)
        {
            double X(int r, int c) => px[i * 784 + r * 28 + c];
            bool F(int r, int c) => X(r, c) > ImageAttributes.ForegroundLevel;
            double sum = 0, sq = 0; int n = 0, top = 28, bottom = -1, left = 28, right = -1;
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++)
                    if (F(r, c)) { sum += X(r, c); n++; top = Math.Min(top, r); bottom = Math.Max(bottom, r); left = Math.Min(left, c); right = Math.Max(right, c); }
            double mean = sum / n;
            for (int r = 0; r < 28; r++) for (int c = 0; c < 28; c++) if (F(r, c)) sq += (X(r, c) - mean) * (X(r, c) - mean);
            double diff = 0; int pairs = 0;
            for (int r = 0; r < 28; r++)
                for (int c = 0; c < 28; c++)
                {
                    if (c + 1 < 28 && F(r, c) && F(r, c + 1)) { diff += Math.Abs(X(r, c) - X(r, c + 1)); pairs++; }
                    if (r + 1 < 28 && F(r, c) && F(r + 1, c)) { diff += Math.Abs(X(r, c) - X(r + 1, c)); pairs++; }
                }
            Assert.Equal(mean, m.Brightness[i], 6);
            Assert.Equal(n / 784.0, m.Area[i], 9);
            Assert.Equal((right - left + 1.0) / (bottom - top + 1.0), m.Aspect[i], 9);
            Assert.Equal(Math.Sqrt(sq / n), m.Contrast[i], 6);
            Assert.Equal(diff / pairs, m.Texture[i], 6);
        }
    }

    [Fact]
    public void CaptionsNameTheClassUseSeveralPhrasingsAndRepeatWithTheSeed()
    {
        using var data = FashionMnist.LoadEmbedded(train: false).Take(200);
        var captioner = new FashionCaptioner();
        var a = captioner.Captions(data, seed: 7);
        var b = captioner.Captions(data, seed: 7);
        var c = captioner.Captions(data, seed: 8);
        Assert.Equal(a, b);
        Assert.True(a.Zip(c).Count(p => p.First != p.Second) > 50);
        var labels = data.Labels.to(ScalarType.Int64).data<long>().ToArray();
        for (int i = 0; i < a.Length; i++) Assert.Contains(FashionCaptioner.Nouns[(int)labels[i]], a[i]);
        Assert.True(a.Count(s => s.StartsWith("a photo of")) > 10);
        Assert.True(a.Count(s => s.Contains(" that is ")) > 10);
        Assert.True(a.Count(s => s.Contains(", ") && !s.StartsWith("a")) > 5);
        // Every attribute word said is one that applies to the image.
        var m = ImageAttributes.Measure(data.Images);
        for (int i = 0; i < a.Length; i++)
        {
            var applicable = captioner.Applicable(m, i).Select(p => FashionCaptioner.Word(p.Kind, p.High)).ToHashSet();
            foreach (var w in a[i].Replace(",", " ").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                if (FashionCaptioner.ParseWord(w) is { } parsed) Assert.Contains(FashionCaptioner.Word(parsed.Kind, parsed.High), applicable);
        }
        // A word is said for about a third of the images at each end (the thresholds are training-set tertiles).
        foreach (var k in Enum.GetValues<AttributeKind>())
        {
            double low = Enumerable.Range(0, m.Count).Count(i => m.Of(k)[i] < captioner.Thresholds.LowOf(k)) / (double)m.Count;
            Assert.InRange(low, 0.15, 0.55);
        }
    }

    [Fact]
    public void WordsParseAndPhrasesReadWell()
    {
        foreach (var k in Enum.GetValues<AttributeKind>())
            foreach (var high in new[] { false, true })
                Assert.Equal((k, high), FashionCaptioner.ParseWord(FashionCaptioner.Word(k, high)));
        Assert.Equal((AttributeKind.Brightness, true), FashionCaptioner.ParseWord("Bright"));
        Assert.Null(FashionCaptioner.ParseWord("shirt"));
        Assert.Equal("an ankle boot", FashionCaptioner.Phrase("ankle boot", Array.Empty<string>(), 0));
        Assert.Equal("a dark patterned shirt", FashionCaptioner.Phrase("shirt", new[] { "dark", "patterned" }, 0));
        Assert.Equal("a sandal that is light and narrow", FashionCaptioner.Phrase("sandal", new[] { "light", "narrow" }, 3));
        Assert.Equal("bag, wide, large", FashionCaptioner.Phrase("bag", new[] { "wide", "large" }, 4));
        Assert.Throws<GenSharpException>(() => new FashionCaptioner(mentionProbability: 0));
    }
}
