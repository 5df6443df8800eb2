using GenSharp.Checkpoints;
using GenSharp.Runtime;
using SkiaSharp;

namespace GenSharp.Media;

/// <summary>
/// Lays batches of images out as one PNG: a grid of samples, or strips of rows such as
/// originals above their reconstructions, or interpolation sequences.
/// </summary>
/// <remarks>
/// Images are (N, C, H, W) tensors with C = 1 (grey) or 3 (RGB), either floating point in [0, 1]
/// (values outside are clamped, NaN becomes 0) or <c>uint8</c> in 0..255. A single (C, H, W) image is
/// accepted as a batch of one. Tiles are separated by <c>padding</c> black pixels (none around the
/// outside) and may be enlarged by an integer <c>scale</c> with nearest-neighbour sampling, so that
/// 28×28 images are visible. Any device is accepted; the pixels are converted with tensor operations
/// and copied once into the image that is encoded.
/// </remarks>
public static class ImageGrid
{
    /// <summary>Writes <paramref name="images"/> as a grid PNG to <paramref name="path"/> (replaced atomically).</summary>
    /// <param name="images">(N, C, H, W) with C = 1 or 3; float in [0, 1] or uint8.</param>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="columns">Tiles per row; default ceil(sqrt(N)).</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static void SavePng(Tensor images, string path, int? columns = null, int padding = 2, int scale = 1)
    {
        AtomicFile.CheckPath(path);
        var png = EncodePng(images, columns, padding, scale);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>Encodes <paramref name="images"/> as a grid and returns the PNG file's bytes.</summary>
    /// <param name="images">(N, C, H, W) with C = 1 or 3; float in [0, 1] or uint8.</param>
    /// <param name="columns">Tiles per row; default ceil(sqrt(N)).</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static byte[] EncodePng(Tensor images, int? columns = null, int padding = 2, int scale = 1)
    {
        CheckLayout(padding, scale);
        TorchRuntime.EnsureReady();
        using var scope = torch.NewDisposeScope();
        return EncodeRgba(GridRgba(images, columns, padding, scale));
    }

    /// <summary>
    /// Lays <paramref name="images"/> out as one grid image, exactly as <see cref="SavePng"/> would, and returns it as
    /// a (3, H, W) <c>uint8</c> CPU tensor owned by the caller, e.g. as one frame of a <see cref="GifEncoder"/> animation.
    /// </summary>
    /// <param name="images">(N, C, H, W) with C = 1 or 3; float in [0, 1] or uint8.</param>
    /// <param name="columns">Tiles per row; default ceil(sqrt(N)).</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static Tensor Tile(Tensor images, int? columns = null, int padding = 2, int scale = 1)
    {
        CheckLayout(padding, scale);
        TorchRuntime.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var rgba = GridRgba(images, columns, padding, scale);    // (H, W, 4)
        return rgba.narrow(2, 0, 3).permute(2, 0, 1).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The grid as a contiguous CPU (H, W, 4) uint8 RGBA tensor in the current dispose scope.</summary>
    static Tensor GridRgba(Tensor images, int? columns, int padding, int scale)
    {
        var tiles = PrepareBatch(images, "images");
        int n = (int)tiles.shape[0];
        if (n == 0) throw new GenSharpException("images has no images (N = 0); pass at least one");
        int cols = columns ?? (int)Math.Ceiling(Math.Sqrt(n));
        if (cols < 1) throw new GenSharpException($"columns must be at least 1, got {cols}");
        cols = Math.Min(cols, n);
        int rows = (n + cols - 1) / cols;
        return Layout(tiles, rows, cols, padding, scale);
    }

    /// <summary>
    /// Writes a strip image with one grid row per batch: row <c>i</c> shows <c>rows[i]</c> left to right.
    /// Used for reconstructions (originals above reconstructions) and interpolation strips.
    /// </summary>
    /// <param name="rows">Batches (N_i, C, H, W), all with the same H and W; shorter rows are filled with black.</param>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static void SaveRows(IReadOnlyList<Tensor> rows, string path, int padding = 2, int scale = 1)
    {
        AtomicFile.CheckPath(path);
        var png = EncodeRows(rows, padding, scale);
        AtomicFile.WriteAllBytes(path, png);
    }

    /// <summary>Like <see cref="SaveRows"/>, but returns the PNG file's bytes.</summary>
    /// <param name="rows">Batches (N_i, C, H, W), all with the same H and W; shorter rows are filled with black.</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static byte[] EncodeRows(IReadOnlyList<Tensor> rows, int padding = 2, int scale = 1)
    {
        if (rows is null || rows.Count == 0)
            throw new GenSharpException("rows is empty; pass at least one (N, C, H, W) batch");
        CheckLayout(padding, scale);
        TorchRuntime.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var prepared = new List<Tensor>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var t = PrepareBatch(rows[i], $"rows[{i}]");
            if (prepared.Count > 0 && (t.shape[2] != prepared[0].shape[2] || t.shape[3] != prepared[0].shape[3]))
                throw new GenSharpException(
                    $"rows[{i}] has {t.shape[2]}x{t.shape[3]} images but rows[0] has {prepared[0].shape[2]}x{prepared[0].shape[3]}; give every row the same image size");
            prepared.Add(t);
        }
        int cols = (int)prepared.Max(t => t.shape[0]);
        if (cols == 0) throw new GenSharpException("every row is empty (N = 0); pass at least one image");
        long h = prepared[0].shape[2], w = prepared[0].shape[3];
        var filled = prepared.Select(t => t.shape[0] == cols
            ? t
            : torch.cat(new[] { t, torch.zeros(cols - t.shape[0], 3, h, w, dtype: torch.uint8) }, 0)).ToList();
        var tiles = torch.cat(filled, 0);
        var rgba = Layout(tiles, prepared.Count, cols, padding, scale);
        return EncodeRgba(rgba);
    }

    /// <summary>
    /// Converts images to <c>uint8</c> on the same device: floating point values are clamped to [0, 1],
    /// NaN becomes 0, and <c>v * 255</c> is rounded half up (0.5 → 128); a <c>uint8</c> tensor is copied as is.
    /// The caller owns (and disposes) the returned tensor.
    /// </summary>
    /// <param name="images">Any shape; floating point in [0, 1] or uint8.</param>
    public static Tensor ToUint8(Tensor images)
    {
        if (images is null) throw new GenSharpException("images is null; pass a tensor");
        TorchRuntime.EnsureReady();
        using var scope = torch.NewDisposeScope();
        Tensor result;
        if (images.dtype == torch.uint8)
        {
            result = images.detach().clone();
        }
        else if (torch.is_floating_point(images))
        {
            var x = images.detach().to(torch.float32);
            x = torch.where(x.isnan(), torch.zeros_like(x), x);
            result = x.clamp(0.0, 1.0).mul(255.0).add(0.5).floor().to(torch.uint8);
        }
        else
        {
            throw new GenSharpException(
                $"images have dtype {images.dtype}; pass floats in [0, 1] or uint8 (e.g. images.to(torch.float32) / 255)");
        }
        return result.MoveToOuterDisposeScope();
    }

    static void CheckLayout(int padding, int scale)
    {
        if (padding < 0) throw new GenSharpException($"padding must be 0 or more, got {padding}");
        if (scale < 1) throw new GenSharpException($"scale must be 1 or more, got {scale}");
    }

    /// <summary>Returns a CPU uint8 (N, 3, H, W) batch; the result belongs to the current dispose scope.</summary>
    static Tensor PrepareBatch(Tensor? images, string what)
    {
        if (images is null) throw new GenSharpException($"{what} is null; pass an (N, C, H, W) tensor");
        var t = images;
        if (t.dim() == 3) t = t.unsqueeze(0);
        if (t.dim() != 4)
            throw new GenSharpException(
                $"{what} has shape [{string.Join(", ", images.shape)}]; pass (N, C, H, W) images with C = 1 or 3");
        long c = t.shape[1];
        if (c != 1 && c != 3)
            throw new GenSharpException(
                $"{what} has {c} channels; pass C = 1 (grey) or 3 (RGB), e.g. drop alpha with images[.., ..3]");
        if (t.shape[2] == 0 || t.shape[3] == 0)
            throw new GenSharpException($"{what} has empty images ({t.shape[2]}x{t.shape[3]}); pass images at least 1x1");
        var u8 = ToUint8(t).to(torch.CPU);
        if (c == 1) u8 = u8.expand(-1, 3, -1, -1);
        return u8;
    }

    /// <summary>
    /// Places rows × cols tiles (row-major, exactly rows*cols of them, possibly fewer) with padding,
    /// returning a contiguous (H, W, 4) uint8 RGBA tensor.
    /// </summary>
    static Tensor Layout(Tensor tiles, int rows, int cols, int padding, int scale)
    {
        long n = tiles.shape[0], h = tiles.shape[2], w = tiles.shape[3];
        if (scale > 1)
        {
            tiles = tiles.reshape(n, 3, h, 1, w, 1).expand(n, 3, h, scale, w, scale).reshape(n, 3, h * scale, w * scale);
            h *= scale;
            w *= scale;
        }
        long cellH = h + padding, cellW = w + padding;
        long total = (long)rows * cols;
        long outH = rows * cellH - padding, outW = cols * cellW - padding;
        if (outH * outW * 4 > int.MaxValue)
            throw new GenSharpException($"the grid would be {outW}x{outH} pixels, too large for one PNG; lower scale or save fewer images");
        var cells = torch.zeros(total, 3, cellH, cellW, dtype: torch.uint8);
        cells.narrow(0, 0, n).narrow(2, 0, h).narrow(3, 0, w).copy_(tiles);
        var rgb = cells.reshape(rows, cols, 3, cellH, cellW)
            .permute(0, 3, 1, 4, 2)
            .reshape(rows * cellH, cols * cellW, 3)
            .narrow(0, 0, outH)
            .narrow(1, 0, outW);
        var alpha = torch.full(outH, outW, 1, (byte)255, dtype: torch.uint8);
        return torch.cat(new[] { rgb, alpha }, 2).contiguous();
    }

    /// <summary>Encodes a contiguous CPU (H, W, 4) uint8 RGBA tensor as PNG.</summary>
    internal static byte[] EncodeRgba(Tensor rgba)
    {
        int height = (int)rgba.shape[0], width = (int)rgba.shape[1];
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        if (bitmap.RowBytes != width * 4)
            throw new InvalidOperationException($"unexpected SKBitmap row stride {bitmap.RowBytes} for width {width}");
        rgba.bytes.CopyTo(bitmap.GetPixelSpan());
        return PngEncoder.Encode(bitmap);
    }
}
