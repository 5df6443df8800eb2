namespace GenSharp.Media;

/// <summary>Reads user images for conditioning (completion, inpainting): PNG tiles or a .npy array.</summary>
public static class ImageInput
{
    /// <summary>
    /// Loads images of <paramref name="channels"/>×<paramref name="size"/>×<paramref name="size"/> as
    /// uint8 (N,C,H,W) on the CPU. A .npy file must hold uint8 (N,C,H,W) or (N,H,W); any other file is
    /// decoded as an image whose width and height are multiples of <paramref name="size"/> and cut into
    /// tiles row by row (no padding between tiles). For one channel, colour pixels become their
    /// luminance (0.299 R + 0.587 G + 0.114 B).
    /// </summary>
    public static Tensor Load(string path, int channels, int size)
    {
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var t = Npy.Load(path);
            if (t.dtype != ScalarType.Byte)
                throw new GenSharpException($"{path}: expected a uint8 array, got {t.dtype}");
            if (t.dim() == 3) t = t.unsqueeze(1);
            if (t.dim() != 4 || t.shape[1] != channels || t.shape[2] != size || t.shape[3] != size)
                throw new GenSharpException($"{path}: expected shape (N, {channels}, {size}, {size}), got ({string.Join(", ", t.shape)})");
            return t;
        }
        var (w, h, rgba) = Png.Decode(path);
        if (w % size != 0 || h % size != 0)
            throw new GenSharpException($"{path} is {w}×{h} pixels; the model works on {size}×{size} images, so give an image whose sides are multiples of {size} (tiles without padding) or a uint8 .npy array");
        using var scope = torch.NewDisposeScope();
        var pixels = torch.tensor(rgba, new long[] { h, w, 4 }, ScalarType.Byte).to(ScalarType.Float32);
        Tensor img = channels == 1
            ? (pixels[.., .., 0] * 0.299 + pixels[.., .., 1] * 0.587 + pixels[.., .., 2] * 0.114).round().unsqueeze(2)
            : pixels.narrow(2, 0, 3);
        // (h, w, C) → tiles (rows·cols, C, size, size), row-major.
        long rows = h / size, cols = w / size;
        var tiles = img.reshape(rows, size, cols, size, channels).permute(0, 2, 4, 1, 3).reshape(rows * cols, channels, size, size);
        return tiles.clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One picture at its own size as uint8 (1, C, H, W) on the CPU (an image file Png.Decode reads), or a
    /// uint8 .npy (N, C, H, W) / (N, H, W). For one channel, colour pixels become their luminance.
    /// </summary>
    public static Tensor LoadWhole(string path, int channels)
    {
        if (!File.Exists(path)) throw new GenSharpException($"{path}: no such file");
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var t = Npy.Load(path);
            if (t.dtype != ScalarType.Byte) throw new GenSharpException($"{path}: expected a uint8 array, got {t.dtype}");
            if (t.dim() == 3) t = t.unsqueeze(1);
            if (t.dim() != 4 || t.shape[1] != channels)
                throw new GenSharpException($"{path}: expected shape (N, {channels}, H, W), got ({string.Join(", ", t.shape)})");
            return t;
        }
        var (w, h, rgba) = Png.Decode(path);
        using var scope = torch.NewDisposeScope();
        var pixels = torch.tensor(rgba, new long[] { h, w, 4 }, ScalarType.Byte).to(ScalarType.Float32);
        Tensor img = channels == 1
            ? (pixels[.., .., 0] * 0.299 + pixels[.., .., 1] * 0.587 + pixels[.., .., 2] * 0.114).round().unsqueeze(2)
            : pixels.narrow(2, 0, 3);
        return img.permute(2, 0, 1).unsqueeze(0).clamp(0, 255).to(ScalarType.Byte).contiguous().MoveToOuterDisposeScope();   // (1, C, h, w)
    }
}
