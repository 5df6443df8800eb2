using System.Text;
using GenSharp.Media;
using GenSharp.Runtime;
using SkiaSharp;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace GenSharp.Tests;

public sealed class MediaTests : IDisposable
{
    readonly string _dir;
    readonly ITestOutputHelper _out;

    public MediaTests(ITestOutputHelper output)
    {
        _out = output;
        _dir = Path.Combine(Path.GetTempPath(), "gensharp-media-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        TorchRuntime.EnsureReady();
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    static (byte R, byte G, byte B, byte A) At((int width, int height, byte[] rgba) img, int x, int y)
    {
        int i = (y * img.width + x) * 4;
        return (img.rgba[i], img.rgba[i + 1], img.rgba[i + 2], img.rgba[i + 3]);
    }

    // Tile i, source pixel (h, w) gets an RGB value that identifies all three.
    static (byte, byte, byte) TilePixel(int i, int h, int w) =>
        ((byte)(i * 20 + h * 3 + w), (byte)(250 - i * 20 - h * 3 - w), (byte)(h * 10 + w + 1));

    [Fact]
    public void MediaGridPlacesTilesWithPaddingAndScale()
    {
        const int n = 5, h = 2, w = 3, scale = 2, padding = 2;
        var data = new byte[n * 3 * h * w];
        for (int i = 0; i < n; i++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    var (r, g, b) = TilePixel(i, y, x);
                    data[((i * 3 + 0) * h + y) * w + x] = r;
                    data[((i * 3 + 1) * h + y) * w + x] = g;
                    data[((i * 3 + 2) * h + y) * w + x] = b;
                }
        using var images = torch.tensor(data, dtype: torch.uint8).reshape(n, 3, h, w);
        var path = Path.Combine(_dir, "sub", "grid.png");
        ImageGrid.SavePng(images, path, padding: padding, scale: scale);
        var img = Png.Decode(path);

        // default columns = ceil(sqrt(5)) = 3, so 2 rows; cells are 6x4 plus 2 px of padding between them
        int cellW = w * scale + padding, cellH = h * scale + padding;
        Assert.Equal(3 * cellW - padding, img.width);
        Assert.Equal(2 * cellH - padding, img.height);
        for (int py = 0; py < img.height; py++)
            for (int px = 0; px < img.width; px++)
            {
                int col = px / cellW, row = py / cellH, ix = px % cellW, iy = py % cellH;
                int tile = row * 3 + col;
                var expected = ix < w * scale && iy < h * scale && tile < n
                    ? TilePixel(tile, iy / scale, ix / scale)
                    : ((byte)0, (byte)0, (byte)0);
                var got = At(img, px, py);
                Assert.True(expected == (got.R, got.G, got.B) && got.A == 255,
                    $"pixel ({px},{py}): expected {expected}, got {got}");
            }
        Assert.False(Directory.EnumerateFiles(Path.Combine(_dir, "sub"), "*.tmp").Any());
    }

    [Fact]
    public void MediaGridGreyFloatImagesAndColumns()
    {
        // two 1x2 grey images, one column, no padding: a 2x2 picture
        using var images = torch.tensor(new float[] { 0f, 1f, 0.5f, 2f }).reshape(2, 1, 1, 2);
        var png = ImageGrid.EncodePng(images, columns: 1, padding: 0);
        var path = Path.Combine(_dir, "grey.png");
        File.WriteAllBytes(path, png);
        var img = Png.Decode(path);
        Assert.Equal((2, 2), (img.width, img.height));
        Assert.Equal(((byte)0, (byte)0, (byte)0, (byte)255), At(img, 0, 0));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), At(img, 1, 0));
        Assert.Equal(((byte)128, (byte)128, (byte)128, (byte)255), At(img, 0, 1));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), At(img, 1, 1));
    }

    [Fact]
    public void MediaToUint8RoundsHalfUpAndClamps()
    {
        var input = new float[] { -1f, 0f, 0.5f, 1f, 2f, float.NaN, 0.2f, 1f / 255f, 0.998f, 0.999f, 0.0019f, 0.0021f, float.PositiveInfinity, float.NegativeInfinity };
        var expected = new byte[] { 0, 0, 128, 255, 255, 0, 51, 1, 254, 255, 0, 1, 255, 0 };
        using var t = torch.tensor(input);
        using var u = ImageGrid.ToUint8(t);
        Assert.Equal(torch.uint8, u.dtype);
        Assert.Equal(expected, u.data<byte>().ToArray());

        using var d = torch.tensor(new double[] { 0.25, 0.75 });
        using var du = ImageGrid.ToUint8(d);
        Assert.Equal(new byte[] { 64, 191 }, du.data<byte>().ToArray()); // 63.75 -> 64, 191.25 -> 191

        using var b = torch.tensor(new byte[] { 0, 7, 255 });
        using var bu = ImageGrid.ToUint8(b);
        Assert.Equal(new byte[] { 0, 7, 255 }, bu.data<byte>().ToArray());

        using var i = torch.tensor(new long[] { 1, 2 });
        Assert.Throws<GenSharpException>(() => ImageGrid.ToUint8(i));
    }

    [Fact]
    public void MediaSaveRowsFillsShortRowsWithBlack()
    {
        using var top = torch.ones(3, 1, 2, 2);                   // white
        using var bottom = torch.full(new long[] { 2, 3, 2, 2 }, 0.2f); // grey 51
        var path = Path.Combine(_dir, "rows.png");
        ImageGrid.SaveRows(new[] { top, bottom }, path, padding: 1, scale: 3);
        var img = Png.Decode(path);
        // 3 columns of 6 px with 1 px between them; 2 rows
        Assert.Equal((3 * 6 + 2, 2 * 6 + 1), (img.width, img.height));
        Assert.Equal(((byte)255, (byte)255, (byte)255, (byte)255), At(img, 19, 5));   // row 0, tile 2
        Assert.Equal(((byte)0, (byte)0, (byte)0, (byte)255), At(img, 6, 3));         // padding column
        Assert.Equal(((byte)51, (byte)51, (byte)51, (byte)255), At(img, 7, 7));      // row 1, tile 1
        Assert.Equal(((byte)0, (byte)0, (byte)0, (byte)255), At(img, 15, 10));       // row 1, missing tile 2

        using var other = torch.ones(1, 1, 3, 3);
        var ex = Assert.Throws<GenSharpException>(() => ImageGrid.EncodeRows(new[] { top, other }));
        Assert.Contains("same image size", ex.Message);
        using var rgba = torch.ones(1, 4, 2, 2);
        Assert.Throws<GenSharpException>(() => ImageGrid.EncodePng(rgba));
    }

    [Fact]
    public void MediaNpyHeaderMatchesFormatSpecByteForByte()
    {
        using var t = torch.arange(8, dtype: torch.uint8).reshape(2, 1, 2, 2);
        var path = Path.Combine(_dir, "a.npy");
        Npy.Save(path, t);

        // Built independently from the format description.
        var dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1, 2, 2), }";
        int preamble = 10 + dict.Length + 1;
        int padded = (preamble + 63) / 64 * 64;
        var expected = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 };
        int headerLen = padded - 10;
        expected.Add((byte)(headerLen % 256));
        expected.Add((byte)(headerLen / 256));
        expected.AddRange(Encoding.ASCII.GetBytes(dict));
        expected.AddRange(Enumerable.Repeat((byte)' ', padded - preamble));
        expected.Add((byte)'\n');
        expected.AddRange(new byte[] { 0, 1, 2, 3, 4, 5, 6, 7 });

        var actual = File.ReadAllBytes(path);
        Assert.Equal(128, padded); // 10 + 66 + 1 = 77 bytes, padded to the next multiple of 64
        Assert.Equal(expected.ToArray(), actual);
    }

    [Fact]
    public void MediaNpyRoundTripsSupportedTypes()
    {
        using var f = torch.tensor(new float[] { 1.5f, -2f, float.NaN, 3.25e-8f, 7f, 8f }).reshape(3, 2);
        using var l = torch.tensor(new long[] { long.MinValue, -1, 0, 1, long.MaxValue });
        using var b = torch.arange(24, dtype: torch.uint8).reshape(2, 3, 4).permute(2, 0, 1); // non-contiguous
        using var s = torch.tensor(3.5f); // 0-d
        using var e = torch.zeros(0, 4);  // empty
        foreach (var (name, tensor) in new[] { ("f", f), ("l", l), ("b", b), ("s", s), ("e", e) })
        {
            var path = Path.Combine(_dir, name + ".npy");
            Npy.Save(path, tensor);
            var head = File.ReadAllBytes(path);
            int headerLen = head[8] | (head[9] << 8);
            Assert.Equal(0, (10 + headerLen) % 64);
            using var back = Npy.Load(path);
            Assert.Equal(tensor.dtype, back.dtype);
            Assert.Equal(tensor.shape, back.shape);
            using var want = tensor.contiguous().nan_to_num(123);
            using var got = back.nan_to_num(123);
            using var same = want.eq(got).all();
            Assert.True(same.item<bool>(), name);
        }
        var oneD = File.ReadAllText(Path.Combine(_dir, "l.npy"), Encoding.Latin1);
        Assert.Contains("'shape': (5,), }", oneD);
        var zeroD = File.ReadAllText(Path.Combine(_dir, "s.npy"), Encoding.Latin1);
        Assert.Contains("'shape': (), }", zeroD);

        using var d = torch.zeros(2, dtype: torch.float64);
        Assert.Throws<GenSharpException>(() => Npy.Save(Path.Combine(_dir, "d.npy"), d));
    }

    static byte[] HandMadeNpy(string dict, byte[] data)
    {
        var header = dict;
        while ((10 + header.Length + 1) % 64 != 0) header += " ";
        header += "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length % 256), (byte)(header.Length / 256) };
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    [Fact]
    public void MediaNpyLoadRejectsWhatItCannotRead()
    {
        var fortran = Path.Combine(_dir, "fortran.npy");
        File.WriteAllBytes(fortran, HandMadeNpy("{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", new byte[4]));
        var ex = Assert.Throws<GenSharpException>(() => Npy.Load(fortran));
        Assert.Contains("Fortran", ex.Message);

        var f8 = Path.Combine(_dir, "f8.npy");
        File.WriteAllBytes(f8, HandMadeNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]));
        ex = Assert.Throws<GenSharpException>(() => Npy.Load(f8));
        Assert.Contains("'<f8'", ex.Message);

        var shortData = Path.Combine(_dir, "short.npy");
        File.WriteAllBytes(shortData, HandMadeNpy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", new byte[16]));
        ex = Assert.Throws<GenSharpException>(() => Npy.Load(shortData));
        Assert.Contains("truncated", ex.Message);

        var notNpy = Path.Combine(_dir, "x.npy");
        File.WriteAllText(notNpy, "hello world");
        Assert.Throws<GenSharpException>(() => Npy.Load(notNpy));
        Assert.Throws<GenSharpException>(() => Npy.Load(Path.Combine(_dir, "missing.npy")));

        // keys in another order, as other writers may produce
        var reordered = Path.Combine(_dir, "reordered.npy");
        File.WriteAllBytes(reordered, HandMadeNpy("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", BitConverter.GetBytes(1f).Concat(BitConverter.GetBytes(-3f)).ToArray()));
        using var t = Npy.Load(reordered);
        Assert.Equal(new float[] { 1f, -3f }, t.data<float>().ToArray());
    }

    static List<PlotSeries> SampleSeries(int points)
    {
        var x = new double[points];
        var a = new double[points];
        var b = new double[points];
        for (int i = 0; i < points; i++)
        {
            x[i] = i;
            a[i] = 2.0 * Math.Exp(-i / (points / 4.0)) + 0.05 * Math.Sin(i / 7.0) + 0.1;
            b[i] = 1.5 * Math.Exp(-i / (points / 3.0)) + 0.2;
        }
        a[points / 2] = double.NaN;
        b[points / 3] = double.PositiveInfinity;
        return new List<PlotSeries> { new("train", x, a), new("validation", x, b) };
    }

    static int CountNear((int width, int height, byte[] rgba) img, SKColor c, int tolerance)
    {
        int count = 0;
        for (int i = 0; i < img.rgba.Length; i += 4)
            if (Math.Abs(img.rgba[i] - c.Red) <= tolerance && Math.Abs(img.rgba[i + 1] - c.Green) <= tolerance && Math.Abs(img.rgba[i + 2] - c.Blue) <= tolerance)
                count++;
        return count;
    }

    static int DarkPixels((int width, int height, byte[] rgba) img, int y0, int y1, int x0, int x1)
    {
        int dark = 0;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++)
            {
                var p = At(img, x, y);
                if (p.R < 110 && p.G < 110 && p.B < 110) dark++;
            }
        return dark;
    }

    [Fact]
    public void MediaLinePlotDrawsSeriesAndText()
    {
        _out.WriteLine("plot font: " + PlotText.Best.Source);
        var path = Path.Combine(_dir, "loss.png");
        LinePlot.Save(path, "Training loss", SampleSeries(20_000));
        var img = Png.Decode(path);
        Assert.Equal((900, 500), (img.width, img.height));
        Assert.True(img.rgba.Where((v, i) => i % 4 != 3).Any(v => v != 255), "image is all white");
        Assert.True(CountNear(img, LinePlot.ColorOf(0), 12) > 200, "first series colour missing");
        Assert.True(CountNear(img, LinePlot.ColorOf(1), 12) > 200, "second series colour missing");
        Assert.True(DarkPixels(img, 0, 40, 0, 900) > 30, "title did not render");
        // x-axis caption area and y tick labels
        Assert.True(DarkPixels(img, 470, 500, 0, 900) > 10, "x label did not render");
    }

    [Fact]
    public void MediaLinePlotBuiltInFontRendersText()
    {
        var png = LinePlot.EncodePng("LOSS 0.123", SampleSeries(500), "step", "loss", false, 640, 360, PlotText.BuiltIn);
        var path = Path.Combine(_dir, "builtin.png");
        File.WriteAllBytes(path, png);
        var img = Png.Decode(path);
        Assert.Equal((640, 360), (img.width, img.height));
        Assert.True(DarkPixels(img, 0, 40, 0, 640) > 30, "built-in title did not render");
        Assert.True(CountNear(img, LinePlot.ColorOf(0), 12) > 50);

        // the same glyphs drawn twice land on the same pixels: no font machinery involved
        Assert.Equal(png, LinePlot.EncodePng("LOSS 0.123", SampleSeries(500), "step", "loss", false, 640, 360, PlotText.BuiltIn));
    }

    [Fact]
    public void MediaLinePlotLogAxisEdgeCasesAndErrors()
    {
        var series = SampleSeries(1000);
        series.Add(new PlotSeries("empty", Array.Empty<double>(), Array.Empty<double>()));
        series.Add(new PlotSeries("negatives", new double[] { 0, 1, 2 }, new double[] { -1, 0, 5 }));
        var img = Decode(LinePlot.EncodePng("log", series, logY: true));
        Assert.True(CountNear(img, LinePlot.ColorOf(0), 12) > 50);

        // nothing finite at all still gives axes and a title
        var none = Decode(LinePlot.EncodePng("nothing", new[] { new PlotSeries("nan", new[] { 1.0 }, new[] { double.NaN }) }));
        Assert.True(DarkPixels(none, 0, 40, 0, 900) > 30);
        // a constant series
        Decode(LinePlot.EncodePng("flat", new[] { new PlotSeries("c", new[] { 5.0, 5.0 }, new[] { 2.0, 2.0 }) }));

        var ex = Assert.Throws<GenSharpException>(() =>
            LinePlot.EncodePng("bad", new[] { new PlotSeries("s", new[] { 1.0, 2.0 }, new[] { 1.0 }) }));
        Assert.Contains("one x per y", ex.Message);
        Assert.Throws<GenSharpException>(() => LinePlot.EncodePng("bad", series, width: 10));
    }

    (int width, int height, byte[] rgba) Decode(byte[] png)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".png");
        File.WriteAllBytes(path, png);
        return Png.Decode(path);
    }

    [Fact]
    public void MediaSkiaSharpFontsReport()
    {
        // What the choice guarantees: plot text is drawn by the first font that puts ink on the page, in PlotText's
        // order (GENSHARP_FONT, the known system files, SkiaSharp's default, the built-in font), and it draws real
        // glyphs where Measure says the text is and nowhere else.
        _out.WriteLine($"SKTypeface.Default family='{SKTypeface.Default.FamilyName}' ink={PlotText.HasInk(SKTypeface.Default)}");
        _out.WriteLine($"font families known to SkiaSharp: {SKFontManager.Default.FontFamilyCount}");
        _out.WriteLine("chosen: " + PlotText.Best.Source);
        var best = PlotText.Best;
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(PlotText.FontVariable)))
        {
            var firstInked = PlotText.KnownFontFiles.FirstOrDefault(f => File.Exists(f) && SKTypeface.FromFile(f) is { } t && PlotText.HasInk(t));
            if (firstInked is not null) Assert.Equal(firstInked, best.Source);
            else Assert.True(best.IsBuiltIn || best.Source == "SkiaSharp default typeface", best.Source);
        }
        foreach (var font in new[] { best, PlotText.BuiltIn })                     // the built-in one checks the check
        {
            var (inside, outside, right) = Ink(font, "0Ag8", 24);
            Assert.True(inside >= 40, $"{font.Source}: only {inside} dark pixels inside the text's box");
            Assert.True(outside == 0, $"{font.Source}: {outside} dark pixels outside the text's box");
            float width = font.Measure("0Ag8", 24);
            Assert.InRange(right, 10 + 0.6f * width, 10 + width + 2);               // the ink spans the measured width
            // Real glyphs, not one box for every character: "8" has far more ink than "I", and "" none.
            int eights = Ink(font, "8888", 24).Inside, ones = Ink(font, "IIII", 24).Inside;
            Assert.True(ones < 0.8 * eights, $"{font.Source}: 'IIII' {ones} vs '8888' {eights} dark pixels");
            Assert.Equal(0, Ink(font, "", 24).Inside);
        }
    }

    /// <summary>Draws <paramref name="text"/> black on white at x 10, baseline 40; dark pixels inside and outside the box
    /// [x − 2, x + width + 2] × [baseline − size, baseline + size/3] (descenders included), and the rightmost dark column.</summary>
    static (int Inside, int Outside, int Right) Ink(PlotText font, string text, float size)
    {
        const float X = 10, Baseline = 40;
        using var bitmap = new SKBitmap(new SKImageInfo(220, 64, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            font.Draw(canvas, text, X, Baseline, size, SKColors.Black);
        }
        float width = font.Measure(text, size);
        int inside = 0, outside = 0, right = -1;
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width; x++)
            {
                if (bitmap.GetPixel(x, y).Red >= 128) continue;
                bool inBox = x >= X - 2 && x <= X + width + 2 && y >= Baseline - size && y <= Baseline + size / 3;
                if (inBox) inside++; else outside++;
                right = Math.Max(right, x);
            }
        return (inside, outside, right);
    }

    [Fact]
    public void MediaPngDecodeRejectsNonImages()
    {
        var path = Path.Combine(_dir, "not.png");
        File.WriteAllText(path, "not an image");
        Assert.Throws<GenSharpException>(() => Png.Decode(path));
        Assert.Throws<GenSharpException>(() => Png.Decode(Path.Combine(_dir, "missing.png")));
    }
}

public class ImageInputTests
{
    [Fact]
    public void PngTilesComeBackAsTheImagesThatWereWritten()
    {
        GenSharp.Runtime.TorchRuntime.EnsureReady();
        var dir = TestData.TempDir();
        using var images = TestData.Test.Images.narrow(0, 0, 6);                     // (6,1,28,28) uint8
        using var x = GenSharp.Data.ImageTransforms.ToFloat(images, GenSharp.Data.PixelScale.ZeroOne);
        var path = Path.Combine(dir, "tiles.png");
        GenSharp.Media.ImageGrid.SavePng(x, path, columns: 3, padding: 0, scale: 1);  // 84×56, tiles row-major
        using var back = GenSharp.Media.ImageInput.Load(path, 1, 28);
        Assert.Equal(new long[] { 6, 1, 28, 28 }, back.shape);
        Assert.Equal(images.data<byte>().ToArray(), back.data<byte>().ToArray());

        var npy = Path.Combine(dir, "x.npy");
        GenSharp.Media.Npy.Save(npy, images);
        using var fromNpy = GenSharp.Media.ImageInput.Load(npy, 1, 28);
        Assert.Equal(images.data<byte>().ToArray(), fromNpy.data<byte>().ToArray());
    }

    [Fact]
    public void WrongSizesAreRejectedWithTheExpectedSize()
    {
        GenSharp.Runtime.TorchRuntime.EnsureReady();
        var dir = TestData.TempDir();
        using var x = TorchSharp.torch.rand(1, 1, 30, 30);
        var path = Path.Combine(dir, "odd.png");
        GenSharp.Media.ImageGrid.SavePng(x, path, padding: 0);
        var e = Assert.Throws<GenSharpException>(() => GenSharp.Media.ImageInput.Load(path, 1, 28));
        Assert.Contains("multiples of 28", e.Message);
        var npy = Path.Combine(dir, "f.npy");
        GenSharp.Media.Npy.Save(npy, x);
        Assert.Contains("uint8", Assert.Throws<GenSharpException>(() => GenSharp.Media.ImageInput.Load(npy, 1, 28)).Message);
    }

    [Fact]
    public void KnownMaskCoversTheFirstPixelsInRasterOrder()
    {
        GenSharp.Runtime.TorchRuntime.EnsureReady();
        using var m = GenSharp.Pipelines.Completion.KnownMask(10, 4);
        var flat = m.flatten().data<bool>().ToArray();
        for (int i = 0; i < 16; i++) Assert.Equal(i < 10, flat[i]);
    }
}
