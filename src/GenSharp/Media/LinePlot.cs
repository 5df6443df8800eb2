using GenSharp.Checkpoints;
using System.Globalization;
using SkiaSharp;

namespace GenSharp.Media;

/// <summary>
/// Draws training curves (loss against step and the like) as a PNG: white background, framed axes
/// with round-number ticks and light grid lines, one coloured line per series, a legend and a title.
/// Values are drawn raw (no smoothing); non-finite points break the line. Tens of thousands of points
/// per series are fine.
/// </summary>
/// <remarks>
/// Text uses a TrueType font when one works on the machine (the file in the <c>GENSHARP_FONT</c>
/// environment variable, else a common system sans-serif font) and otherwise a built-in pixel font,
/// so labels always render, even where SkiaSharp has no fontconfig.
/// </remarks>
public static class LinePlot
{
    /// <summary>Default image width in pixels.</summary>
    public const int DefaultWidth = 900;

    /// <summary>Default image height in pixels.</summary>
    public const int DefaultHeight = 500;

    static readonly SKColor[] Palette =
    {
        new(0x1F, 0x6F, 0xC4), // blue
        new(0xE3, 0x6A, 0x12), // orange
        new(0x2A, 0x9D, 0x3A), // green
        new(0xC8, 0x2A, 0x2A), // red
        new(0x7E, 0x4F, 0xB8), // purple
        new(0x8A, 0x56, 0x3C), // brown
        new(0xD9, 0x4F, 0xA8), // pink
        new(0x5C, 0x5C, 0x5C), // grey
        new(0xA8, 0xA8, 0x1A), // olive
        new(0x17, 0xA8, 0xB8), // teal
    };

    static readonly SKColor TextColor = new(0x1A, 0x1A, 0x1A);
    static readonly SKColor FrameColor = new(0x40, 0x40, 0x40);
    static readonly SKColor GridColor = new(0xE4, 0xE4, 0xE4);
    static readonly SKColor MinorGridColor = new(0xF2, 0xF2, 0xF2);

    const float TitleSize = 17, LabelSize = 14, TickSize = 12, LegendSize = 13;

    /// <summary>Renders the plot and writes it to <paramref name="path"/> as PNG (replaced atomically).</summary>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="title">Shown centred above the plot; may be empty.</param>
    /// <param name="series">The lines to draw, coloured in order.</param>
    /// <param name="xLabel">Caption under the x axis.</param>
    /// <param name="yLabel">Caption beside the y axis.</param>
    /// <param name="logY">Logarithmic y axis (values ≤ 0 are skipped).</param>
    /// <param name="width">Image width in pixels (200 to 8000).</param>
    /// <param name="height">Image height in pixels (150 to 8000).</param>
    public static void Save(string path, string title, IReadOnlyList<PlotSeries> series,
        string xLabel = "step", string yLabel = "loss", bool logY = false,
        int width = DefaultWidth, int height = DefaultHeight)
    {
        AtomicFile.CheckPath(path);
        var png = EncodePng(title, series, xLabel, yLabel, logY, width, height);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>Renders the plot and returns the PNG file's bytes; parameters as in <see cref="Save"/>.</summary>
    /// <param name="title">Shown centred above the plot; may be empty.</param>
    /// <param name="series">The lines to draw, coloured in order.</param>
    /// <param name="xLabel">Caption under the x axis.</param>
    /// <param name="yLabel">Caption beside the y axis.</param>
    /// <param name="logY">Logarithmic y axis (values ≤ 0 are skipped).</param>
    /// <param name="width">Image width in pixels (200 to 8000).</param>
    /// <param name="height">Image height in pixels (150 to 8000).</param>
    public static byte[] EncodePng(string title, IReadOnlyList<PlotSeries> series,
        string xLabel = "step", string yLabel = "loss", bool logY = false,
        int width = DefaultWidth, int height = DefaultHeight)
        => EncodePng(title, series, xLabel, yLabel, logY, width, height, PlotText.Best);

    /// <summary>The colour of the series at <paramref name="index"/> (the palette repeats after 10).</summary>
    internal static SKColor ColorOf(int index) => Palette[index % Palette.Length];

    internal static byte[] EncodePng(string? title, IReadOnlyList<PlotSeries> series,
        string? xLabel, string? yLabel, bool logY, int width, int height, PlotText text)
    {
        if (width < 200 || width > 8000) throw new GenSharpException($"plot width must be 200..8000 pixels, got {width}");
        if (height < 150 || height > 8000) throw new GenSharpException($"plot height must be 150..8000 pixels, got {height}");
        if (series is null) throw new GenSharpException("series is null; pass a list of PlotSeries (it may be empty)");
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i] ?? throw new GenSharpException($"series[{i}] is null; remove it or give it values");
            if (s.X is null || s.Y is null)
                throw new GenSharpException($"series '{s.Name}' has no X or Y list; give both (they may be empty)");
            if (s.X.Count != s.Y.Count)
                throw new GenSharpException($"series '{s.Name}' has {s.X.Count} x values but {s.Y.Count} y values; give one x per y");
        }

        // Data ranges over the points that will be drawn (y in log10 space when logY).
        double xMin = double.PositiveInfinity, xMax = double.NegativeInfinity;
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        foreach (var s in series)
        {
            for (int i = 0; i < s.X.Count; i++)
            {
                if (!TryPoint(s.X[i], s.Y[i], logY, out var x, out var y)) continue;
                if (x < xMin) xMin = x;
                if (x > xMax) xMax = x;
                if (y < yMin) yMin = y;
                if (y > yMax) yMax = y;
            }
        }
        if (xMin > xMax) { xMin = 0; xMax = 1; }
        if (yMin > yMax) { yMin = logY ? -1 : 0; yMax = logY ? 0 : 1; }
        (xMin, xMax) = Widen(xMin, xMax);
        (yMin, yMax) = Widen(yMin, yMax);
        double yPad = (yMax - yMin) * 0.05;
        yMin -= yPad;
        yMax += yPad;

        var xTicks = LinearTicks(xMin, xMax, Math.Max(3, width / 110));
        var (yTicks, yMinor) = logY ? LogTicks(yMin, yMax, Math.Max(3, height / 60)) : (LinearTicks(yMin, yMax, Math.Max(3, height / 60)), new List<double>());

        // Layout.
        float yTickWidth = yTicks.Count == 0 ? 0 : yTicks.Max(t => text.Measure(t.Label, TickSize));
        bool hasTitle = !string.IsNullOrWhiteSpace(title);
        bool hasYLabel = !string.IsNullOrWhiteSpace(yLabel);
        bool hasXLabel = !string.IsNullOrWhiteSpace(xLabel);
        float left = 10 + (hasYLabel ? LabelSize + 10 : 0) + yTickWidth + 8;
        float right = width - 24;
        float top = hasTitle ? 46 : 20;
        float bottom = height - (hasXLabel ? 52 : 32);
        var plot = new SKRect(left, top, right, bottom);

        float Px(double x) => (float)(plot.Left + (x - xMin) / (xMax - xMin) * plot.Width);
        float Py(double y) => (float)(plot.Bottom - (y - yMin) / (yMax - yMin) * plot.Height);

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);

            using var minorPaint = new SKPaint { Color = MinorGridColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };
            using var gridPaint = new SKPaint { Color = GridColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };
            using var framePaint = new SKPaint { Color = FrameColor, StrokeWidth = 1, IsAntialias = false, Style = SKPaintStyle.Stroke };

            foreach (var m in yMinor)
            {
                float py = Snap(Py(m));
                canvas.DrawLine(plot.Left, py, plot.Right, py, minorPaint);
            }
            foreach (var t in xTicks)
            {
                float px = Snap(Px(t.Value));
                canvas.DrawLine(px, plot.Top, px, plot.Bottom, gridPaint);
                canvas.DrawLine(px, plot.Bottom, px, plot.Bottom + 5, framePaint);
                text.Draw(canvas, t.Label, px, plot.Bottom + 8 + text.CapHeight(TickSize), TickSize, TextColor, SKTextAlign.Center);
            }
            foreach (var t in yTicks)
            {
                float py = Snap(Py(t.Value));
                canvas.DrawLine(plot.Left, py, plot.Right, py, gridPaint);
                canvas.DrawLine(plot.Left - 5, py, plot.Left, py, framePaint);
                text.Draw(canvas, t.Label, plot.Left - 8, py + text.CapHeight(TickSize) / 2, TickSize, TextColor, SKTextAlign.Right);
            }

            // Series lines, clipped to the plot area.
            canvas.Save();
            canvas.ClipRect(plot);
            for (int si = 0; si < series.Count; si++)
                DrawSeries(canvas, series[si], ColorOf(si), logY, Px, Py);
            canvas.Restore();

            canvas.DrawRect(Snap(plot.Left), Snap(plot.Top), MathF.Round(plot.Width), MathF.Round(plot.Height), framePaint);

            if (hasTitle)
                text.Draw(canvas, title!.Trim(), plot.MidX, 14 + text.CapHeight(TitleSize), TitleSize, TextColor, SKTextAlign.Center);
            if (hasXLabel)
                text.Draw(canvas, xLabel!.Trim(), plot.MidX, height - 12, LabelSize, TextColor, SKTextAlign.Center);
            if (hasYLabel)
            {
                float cx = 10 + text.CapHeight(LabelSize), cy = plot.MidY;
                canvas.Save();
                canvas.RotateDegrees(-90, cx, cy);
                text.Draw(canvas, yLabel!.Trim(), cx, cy, LabelSize, TextColor, SKTextAlign.Center);
                canvas.Restore();
            }

            DrawLegend(canvas, series, plot, text);
        }
        return PngEncoder.Encode(bitmap);
    }

    static void DrawSeries(SKCanvas canvas, PlotSeries s, SKColor color, bool logY, Func<double, float> px, Func<double, float> py)
    {
        using var path = new SKPathBuilder();
        using var dots = new SKPathBuilder();
        int run = 0;
        float lastX = 0, lastY = 0;
        for (int i = 0; i < s.X.Count; i++)
        {
            if (!TryPoint(s.X[i], s.Y[i], logY, out var x, out var y))
            {
                if (run == 1) dots.AddCircle(lastX, lastY, 2f);
                run = 0;
                continue;
            }
            lastX = px(x);
            lastY = py(y);
            if (run == 0) path.MoveTo(lastX, lastY);
            else path.LineTo(lastX, lastY);
            run++;
        }
        if (run == 1) dots.AddCircle(lastX, lastY, 2f);
        using var stroke = new SKPaint
        {
            Color = color,
            StrokeWidth = 2f,
            IsAntialias = true,
            Style = SKPaintStyle.Stroke,
            StrokeJoin = SKStrokeJoin.Round,
            StrokeCap = SKStrokeCap.Round,
        };
        using (var lines = path.Detach()) canvas.DrawPath(lines, stroke);
        using var fill = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
        using (var points = dots.Detach()) canvas.DrawPath(points, fill);
    }

    static void DrawLegend(SKCanvas canvas, IReadOnlyList<PlotSeries> series, SKRect plot, PlotText text)
    {
        var entries = new List<(string Name, SKColor Color)>();
        for (int i = 0; i < series.Count; i++)
            if (!string.IsNullOrWhiteSpace(series[i].Name)) entries.Add((series[i].Name.Trim(), ColorOf(i)));
        if (entries.Count == 0) return;

        const float pad = 8, swatch = 24, gap = 8, rowHeight = 19;
        float textWidth = entries.Max(e => text.Measure(e.Name, LegendSize));
        float boxWidth = Math.Min(pad + swatch + gap + textWidth + pad, plot.Width - 20);
        float boxHeight = pad * 2 + entries.Count * rowHeight - 4;
        var box = SKRect.Create(MathF.Round(plot.Right - 10 - boxWidth), MathF.Round(plot.Top + 10), MathF.Round(boxWidth), MathF.Round(boxHeight));

        using var background = new SKPaint { Color = new SKColor(255, 255, 255, 235), Style = SKPaintStyle.Fill };
        using var border = new SKPaint { Color = new SKColor(0xB8, 0xB8, 0xB8), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        canvas.DrawRect(box, background);
        canvas.DrawRect(box.Left + 0.5f, box.Top + 0.5f, box.Width, box.Height, border);

        canvas.Save();
        canvas.ClipRect(box);
        for (int i = 0; i < entries.Count; i++)
        {
            float rowMid = box.Top + pad + i * rowHeight + (rowHeight - 4) / 2;
            using var line = new SKPaint { Color = entries[i].Color, StrokeWidth = 3, IsAntialias = true, Style = SKPaintStyle.Stroke };
            canvas.DrawLine(box.Left + pad, rowMid, box.Left + pad + swatch, rowMid, line);
            text.Draw(canvas, entries[i].Name, box.Left + pad + swatch + gap, rowMid + text.CapHeight(LegendSize) / 2, LegendSize, TextColor);
        }
        canvas.Restore();
    }

    static bool TryPoint(double x, double y, bool logY, out double px, out double py)
    {
        px = x;
        py = y;
        if (!double.IsFinite(x) || !double.IsFinite(y)) return false;
        if (logY)
        {
            if (y <= 0) return false;
            py = Math.Log10(y);
        }
        return true;
    }

    static (double, double) Widen(double lo, double hi)
    {
        if (hi > lo) return (lo, hi);
        double d = lo == 0 ? 1 : Math.Abs(lo) * 0.05;
        return (lo - d, hi + d);
    }

    static float Snap(float v) => MathF.Floor(v) + 0.5f;

    internal readonly record struct Tick(double Value, string Label);

    /// <summary>Round-number ticks (1, 2 or 5 × 10^k apart) inside [lo, hi], about <paramref name="target"/> of them.</summary>
    internal static List<Tick> LinearTicks(double lo, double hi, int target)
    {
        double step = NiceStep((hi - lo) / Math.Max(1, target));
        var ticks = new List<Tick>();
        double first = Math.Ceiling(lo / step - 1e-9);
        double last = Math.Floor(hi / step + 1e-9);
        double maxAbs = Math.Max(Math.Abs(lo), Math.Abs(hi));
        for (double k = first; k <= last && ticks.Count < 1000; k++)
        {
            double v = k * step;
            if (Math.Abs(v) < step * 1e-9) v = 0;
            ticks.Add(new Tick(v, FormatLinear(v, step, maxAbs)));
        }
        return ticks;
    }

    /// <summary>Ticks for a log10-transformed axis [lo, hi]: powers of ten (plus minor lines) or, within one decade, round values.</summary>
    static (List<Tick> major, List<double> minor) LogTicks(double lo, double hi, int target)
    {
        var major = new List<Tick>();
        var minor = new List<double>();
        if (hi - lo < 1.0)
        {
            double vLo = Math.Pow(10, lo), vHi = Math.Pow(10, hi);
            foreach (var t in LinearTicks(vLo, vHi, Math.Max(3, target / 2)))
                if (t.Value > 0) major.Add(new Tick(Math.Log10(t.Value), t.Label));
            return (major, minor);
        }
        int kLo = (int)Math.Ceiling(lo - 1e-9), kHi = (int)Math.Floor(hi + 1e-9);
        int every = Math.Max(1, (int)Math.Ceiling((kHi - kLo + 1) / (double)target));
        for (int k = kLo; k <= kHi; k++)
            if ((k - kLo) % every == 0) major.Add(new Tick(k, FormatPow10(k)));
        if (major.Count < 3)
        {
            // Two decades or less: also label 2 and 5 times each power of ten.
            for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
                foreach (var m in new[] { 2, 5 })
                {
                    double v = k + Math.Log10(m);
                    if (v > lo && v < hi) major.Add(new Tick(v, FormatPow10(k, m)));
                }
            major.Sort((a, b) => a.Value.CompareTo(b.Value));
        }
        if (every == 1 && hi - lo <= 8)
        {
            for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
                for (int m = 2; m <= 9; m++)
                {
                    double v = k + Math.Log10(m);
                    if (v > lo && v < hi) minor.Add(v);
                }
        }
        return (major, minor);
    }

    static double NiceStep(double raw)
    {
        if (!(raw > 0) || !double.IsFinite(raw)) return 1;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / mag;
        double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
        return nice * mag;
    }

    static string FormatLinear(double v, double step, double maxAbs)
    {
        var inv = CultureInfo.InvariantCulture;
        if (v == 0) return "0";
        if (maxAbs >= 1e6 || step < 1e-4) return v.ToString("0.###e+0", inv);
        int decimals = step >= 1 ? 0 : (int)Math.Ceiling(-Math.Log10(step) - 1e-9);
        return v.ToString("F" + decimals, inv);
    }

    static string FormatPow10(int k, int mantissa = 1)
    {
        if (k >= -4 && k <= 5) return (mantissa * Math.Pow(10, k)).ToString("0.#####", CultureInfo.InvariantCulture);
        return mantissa.ToString(CultureInfo.InvariantCulture) + "e" + k.ToString(CultureInfo.InvariantCulture);
    }
}
