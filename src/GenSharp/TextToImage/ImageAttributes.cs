namespace GenSharp.TextToImage;

/// <summary>
/// Five measurements of a grey-scale image in [0, 1], taken over its foreground F = { pixels &gt; <see cref="ForegroundLevel"/> }
/// (the garment; Fashion-MNIST backgrounds are 0):
/// <list type="bullet">
/// <item><b>brightness</b> — the mean intensity over F (dark … light);</item>
/// <item><b>area</b> — |F| / (H·W), the fraction of the image the garment covers (small … large);</item>
/// <item><b>aspect</b> — width / height of F's bounding box (narrow … wide);</item>
/// <item><b>texture</b> — the mean |x_a − x_b| over horizontally and vertically adjacent pixel pairs with both in F (plain … patterned);</item>
/// <item><b>contrast</b> — the standard deviation of the intensity over F (low … high contrast).</item>
/// </list>
/// An image with an empty foreground measures 0 everywhere (aspect 1).
/// </summary>
/// <param name="Brightness">Mean foreground intensity, (N).</param>
/// <param name="Area">Foreground fraction, (N).</param>
/// <param name="Aspect">Bounding-box width / height, (N).</param>
/// <param name="Texture">Mean adjacent-pixel difference inside the foreground, (N).</param>
/// <param name="Contrast">Standard deviation of foreground intensity, (N).</param>
public sealed record ImageAttributes(double[] Brightness, double[] Area, double[] Aspect, double[] Texture, double[] Contrast)
{
    /// <summary>Intensity above which a pixel is foreground (≈ 25/255).</summary>
    public const double ForegroundLevel = 0.1;

    /// <summary>Number of images measured.</summary>
    public int Count => Brightness.Length;

    /// <summary>The value of one attribute for every image.</summary>
    public double[] Of(AttributeKind kind) => kind switch
    {
        AttributeKind.Brightness => Brightness,
        AttributeKind.Size => Area,
        AttributeKind.Width => Aspect,
        AttributeKind.Pattern => Texture,
        AttributeKind.Contrast => Contrast,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Measures uint8 (0..255) or float ([0, 1]) images shaped (N, 1, H, W) or (N, H, W).</summary>
    /// <exception cref="GenSharpException">The images are not single-channel.</exception>
    public static ImageAttributes Measure(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var x = images.dtype == ScalarType.Byte ? images.to(ScalarType.Float64) / 255.0 : images.to(ScalarType.Float64);
        if (x.dim() == 4)
        {
            if (x.shape[1] != 1) throw new GenSharpException($"captions are measured on grey-scale images; got {x.shape[1]} channels");
            x = x.squeeze(1);
        }
        if (x.dim() != 3) throw new GenSharpException($"expected images shaped (N, 1, H, W) or (N, H, W), got [{string.Join(", ", images.shape)}]");
        long n = x.shape[0], h = x.shape[1], w = x.shape[2];
        var fg = (x > ForegroundLevel).to(ScalarType.Float64);                       // (N, H, W)
        var count = fg.sum(new long[] { 1, 2 });                                      // (N)
        var safe = count.clamp_min(1);
        var mean = (x * fg).sum(new long[] { 1, 2 }) / safe;                          // (N)
        var dev = (x - mean.view(n, 1, 1)) * fg;
        var std = (dev.pow(2).sum(new long[] { 1, 2 }) / safe).sqrt();
        var area = count / (h * w);

        // Bounding box: first and last row/column holding a foreground pixel.
        var rows = fg.amax(2);                                                        // (N, H)
        var cols = fg.amax(1);                                                        // (N, W)
        // argmax returns the first maximum: the first foreground index from each end.
        static Tensor Extent(Tensor any, long len) => len - any.argmax(1).to(ScalarType.Float64) - any.flip(1).argmax(1).to(ScalarType.Float64);
        var height = Extent(rows, h);
        var width = Extent(cols, w);
        var empty = count == 0;
        var aspect = torch.where(empty, torch.ones_like(width), width / height.clamp_min(1));

        // Texture: adjacent pairs inside the foreground.
        var dh = (x[.., .., 1..] - x[.., .., ..^1]).abs() * fg[.., .., 1..] * fg[.., .., ..^1];   // (N, H, W−1)
        var dv = (x[.., 1.., ..] - x[.., ..^1, ..]).abs() * fg[.., 1.., ..] * fg[.., ..^1, ..];   // (N, H−1, W)
        var pairs = (fg[.., .., 1..] * fg[.., .., ..^1]).sum(new long[] { 1, 2 }) + (fg[.., 1.., ..] * fg[.., ..^1, ..]).sum(new long[] { 1, 2 });
        var texture = (dh.sum(new long[] { 1, 2 }) + dv.sum(new long[] { 1, 2 })) / pairs.clamp_min(1);

        static double[] Host(Tensor t) => t.contiguous().data<double>().ToArray();
        return new ImageAttributes(Host(mean), Host(area), Host(aspect), Host(texture), Host(std));
    }
}
