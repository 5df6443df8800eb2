using SkiaSharp;

namespace GenSharp.Media;

/// <summary>Reads image files (PNG, and whatever else SkiaSharp decodes) into plain RGBA bytes.</summary>
public static class Png
{
    /// <summary>
    /// Decodes the image at <paramref name="path"/> into unpremultiplied RGBA, 4 bytes per pixel,
    /// row by row from the top-left corner.
    /// </summary>
    /// <param name="path">An existing image file.</param>
    /// <returns>The width and height in pixels and <c>width * height * 4</c> bytes.</returns>
    public static (int width, int height, byte[] rgba) Decode(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new GenSharpException("path is empty; give the image file to read");
        if (!File.Exists(path))
            throw new GenSharpException($"image '{path}' does not exist; check the path");
        using var codec = SKCodec.Create(path)
            ?? throw new GenSharpException($"'{path}' is not an image SkiaSharp can decode; pass a PNG file");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = SKBitmap.Decode(codec, info)
            ?? throw new GenSharpException($"'{path}' could not be decoded (damaged or truncated?); write it again");
        var rgba = new byte[info.Width * info.Height * 4];
        int row = info.Width * 4;
        var src = bitmap.GetPixelSpan();
        if (bitmap.RowBytes == row)
        {
            src[..rgba.Length].CopyTo(rgba);
        }
        else
        {
            for (int y = 0; y < info.Height; y++)
                src.Slice(y * bitmap.RowBytes, row).CopyTo(rgba.AsSpan(y * row, row));
        }
        return (info.Width, info.Height, rgba);
    }
}
