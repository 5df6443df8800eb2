using SkiaSharp;

namespace GenSharp.Media;

/// <summary>Encodes bitmaps as PNG through SkiaSharp.</summary>
internal static class PngEncoder
{
    internal static byte[] Encode(SKBitmap bitmap)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        if (data is null)
            throw new InvalidOperationException($"SkiaSharp could not encode a {bitmap.Width}x{bitmap.Height} PNG");
        return data.ToArray();
    }
}
