using GenSharp.Media;

namespace GenSharp.Watermarking;

/// <summary>Reads images to check for a watermark, and cuts sample grids back into their cells.</summary>
public static class WatermarkImages
{
    /// <summary>A PNG (or any image SkiaSharp decodes) as (1, 3, H, W), or a uint8 .npy as (N, C, H, W); uint8 on the CPU.</summary>
    public static Tensor Load(string path)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(path)) throw new GenSharpException($"image '{path}' does not exist; check the path");
            var t = Npy.Load(path);
            if (t.dtype != ScalarType.Byte) { t.Dispose(); throw new GenSharpException($"{path}: expected a uint8 array, got {t.dtype}"); }
            if (t.dim() == 3) t = t.unsqueeze(1);
            if (t.dim() != 4) throw new GenSharpException($"{path}: expected shape (N, C, H, W) or (N, H, W), got ({string.Join(", ", t.shape)})");
            return t;
        }
        var (w, h, rgba) = Png.Decode(path);
        using var pixels = torch.tensor(rgba, new long[] { h, w, 4 }, ScalarType.Byte);
        return pixels.narrow(2, 0, 3).permute(2, 0, 1).unsqueeze(0).contiguous();
    }

    /// <summary>
    /// The model-sized images in <paramref name="image"/> (1, C, H, W): the image itself when it is size×size, else the
    /// cells of a grid as <c>gensharp sample</c> writes it (cells enlarged ×scale, 2 black pixels between them;
    /// scale 2 or 1 tried), each shrunk back by averaging scale×scale blocks. Returns (M, channels, size, size) float in [0, 1].
    /// </summary>
    public static Tensor Cells(Tensor image, int size, int channels)
    {
        using var scope = torch.NewDisposeScope();
        var x = image.to(ScalarType.Float32) / 255;
        if (x.dim() == 3) x = x.unsqueeze(0);
        long h = x.shape[2], w = x.shape[3];
        x = channels == 1 && x.shape[1] == 3 ? x.mean(new long[] { 1 }, keepdim: true) : x;
        if (x.shape[1] != channels) throw new GenSharpException($"the image has {x.shape[1]} channels; the model draws {channels}");
        if (h == size && w == size) return x.MoveToOuterDisposeScope();
        foreach (int scale in new[] { 2, 1 })
        {
            long cell = size * scale, stride = cell + 2;
            if ((h + 2) % stride != 0 || (w + 2) % stride != 0) continue;
            long rows = (h + 2) / stride, cols = (w + 2) / stride;
            var padded = nn.functional.pad(x, new long[] { 0, 2, 0, 2 });                               // (N, C, rows·stride, cols·stride)
            var cells = padded.reshape(x.shape[0], channels, rows, stride, cols, stride)
                .narrow(3, 0, cell).narrow(5, 0, cell)
                .permute(0, 2, 4, 1, 3, 5).reshape(-1, channels, cell, cell);                           // (M, C, cell, cell), row-major
            if (scale > 1) cells = nn.functional.avg_pool2d(cells, scale);
            return cells.contiguous().MoveToOuterDisposeScope();
        }
        throw new GenSharpException($"a {w}×{h} image is neither a {size}×{size} image nor a grid of them as 'gensharp sample' writes it (cells ×2 or ×1, 2 pixels apart)");
    }
}
