using SkiaSharp;

namespace GenSharp.Media;

/// <summary>
/// Text drawing for plots with a font that is known to put ink on the page. SkiaSharp's
/// "NoDependencies" native build has no fontconfig, so its default typeface may draw nothing;
/// this picks, in order: the TrueType file named by the <c>GENSHARP_FONT</c> environment variable,
/// a common system sans-serif font at a well-known path, SkiaSharp's default typeface, and finally
/// the built-in <see cref="BitmapFont"/>. Every TrueType candidate must pass an ink test first.
/// </summary>
internal sealed class PlotText
{
    /// <summary>Environment variable naming a .ttf/.otf file to use for plot text.</summary>
    internal const string FontVariable = "GENSHARP_FONT";

    internal static readonly string[] KnownFontFiles =
    {
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "/Library/Fonts/Arial.ttf",
        @"C:\Windows\Fonts\arial.ttf",
        @"C:\Windows\Fonts\segoeui.ttf",
    };

    static readonly Lazy<PlotText> BestFont = new(Choose, LazyThreadSafetyMode.ExecutionAndPublication);

    readonly SKTypeface? _typeface;

    PlotText(SKTypeface? typeface, string source)
    {
        _typeface = typeface;
        Source = source;
    }

    /// <summary>Where the glyphs come from (a file path, "SkiaSharp default typeface" or the built-in font).</summary>
    internal string Source { get; }

    /// <summary>True when drawing with the built-in bitmap font.</summary>
    internal bool IsBuiltIn => _typeface is null;

    /// <summary>The best font available on this machine (chosen once per process).</summary>
    internal static PlotText Best => BestFont.Value;

    /// <summary>The built-in bitmap font, independent of the machine.</summary>
    internal static PlotText BuiltIn { get; } = new(null, "built-in 5x7 bitmap font");

    /// <summary>Width in pixels of <paramref name="text"/> at <paramref name="size"/>.</summary>
    internal float Measure(string text, float size)
    {
        if (_typeface is null) return BitmapFont.Measure(text, size);
        using var font = MakeFont(size);
        return font.MeasureText(text);
    }

    /// <summary>Approximate height of capital letters above the baseline.</summary>
    internal float CapHeight(float size) => _typeface is null ? BitmapFont.CapHeight(size) : size * 0.72f;

    /// <summary>Draws <paramref name="text"/> on the baseline <paramref name="baseline"/>, anchored at <paramref name="x"/>.</summary>
    internal void Draw(SKCanvas canvas, string text, float x, float baseline, float size, SKColor color, SKTextAlign align = SKTextAlign.Left)
    {
        if (string.IsNullOrEmpty(text)) return;
        if (_typeface is null)
        {
            float w = BitmapFont.Measure(text, size);
            float left = align switch { SKTextAlign.Center => x - w / 2, SKTextAlign.Right => x - w, _ => x };
            using var fill = new SKPaint { Color = color, IsAntialias = false, Style = SKPaintStyle.Fill };
            BitmapFont.Draw(canvas, text, left, baseline, size, fill);
            return;
        }
        using var font = MakeFont(size);
        using var paint = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
        canvas.DrawText(text, x, baseline, align, font, paint);
    }

    SKFont MakeFont(float size) => new(_typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true };

    static PlotText Choose()
    {
        var fromEnv = Environment.GetEnvironmentVariable(FontVariable);
        if (!string.IsNullOrWhiteSpace(fromEnv) && TryFile(fromEnv) is { } chosen) return chosen;
        foreach (var file in KnownFontFiles)
            if (TryFile(file) is { } found) return found;
        try
        {
            var fallback = SKTypeface.Default;
            if (fallback is not null && HasInk(fallback)) return new PlotText(fallback, "SkiaSharp default typeface");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A native font manager that cannot start simply means: use the built-in font.
        }
        return BuiltIn;
    }

    static PlotText? TryFile(string path)
    {
        try
        {
            if (!File.Exists(path)) return null;
            var typeface = SKTypeface.FromFile(path);
            if (typeface is null) return null;
            if (HasInk(typeface)) return new PlotText(typeface, path);
            typeface.Dispose();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Unreadable or unsupported font file: try the next candidate.
        }
        return null;
    }

    /// <summary>Renders a few glyphs in black on white and reports whether any dark pixels appeared.</summary>
    internal static bool HasInk(SKTypeface typeface)
    {
        var info = new SKImageInfo(96, 40, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var bitmap = new SKBitmap(info);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(SKColors.White);
            using var font = new SKFont(typeface, 24);
            using var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true };
            canvas.DrawText("0Ag8", 4, 30, SKTextAlign.Left, font, paint);
        }
        var px = bitmap.GetPixelSpan();
        int dark = 0;
        for (int i = 0; i < px.Length; i += 4)
            if (px[i] < 128) dark++;
        return dark >= 20;
    }
}
