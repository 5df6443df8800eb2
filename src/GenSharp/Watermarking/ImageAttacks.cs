namespace GenSharp.Watermarking;

/// <summary>
/// What happens to images after they leave GenSharp, for measuring a watermark's robustness. Every function takes and
/// returns uint8 (N, C, H, W) CPU images and rounds to 8 bits at the end, as saving a file would.
/// </summary>
public static class ImageAttacks
{
    /// <summary>IJG's (libjpeg's) base luminance quantisation table (ITU-T T.81 Annex K), row-major.</summary>
    static readonly double[] LuminanceTable =
    {
        16, 11, 10, 16, 24, 40, 51, 61,   12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,   14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    };

    /// <summary>
    /// JPEG-like compression written here (no codec): each channel level-shifted by 128, cut into 8×8 blocks (edges
    /// replicated to a multiple of 8), 2-D DCT-II, coefficients rounded to multiples of the luminance table scaled to
    /// <paramref name="quality"/> as libjpeg scales it (50 = the table, 5000/q below 50, 200 − 2q above), inverse DCT.
    /// This is JPEG's only lossy step for grey images; colour images are treated channel by channel (no YCbCr, no
    /// chroma subsampling), so colour JPEG would lose more.
    /// </summary>
    public static Tensor Jpeg(Tensor images, int quality)
    {
        if (quality < 1 || quality > 100) throw new ParameterException("quality", $"must be in [1, 100], got {quality}");
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        long hp = (h + 7) / 8 * 8, wp = (w + 7) / 8 * 8;
        var x = images.to(ScalarType.Float64) - 128;
        if (hp != h || wp != w) x = nn.functional.pad(x, new long[] { 0, wp - w, 0, hp - h }, PaddingModes.Replicate);
        // (N, C, Hb, 8, Wb, 8) → (N, C, Hb, Wb, 8, 8) blocks.
        var blocks = x.reshape(n, c, hp / 8, 8, wp / 8, 8).permute(0, 1, 2, 4, 3, 5);
        var dct = DctMatrix(8);                                                      // (8, 8) orthonormal DCT-II rows
        var coef = dct.matmul(blocks).matmul(dct.t());
        double s = quality < 50 ? 5000.0 / quality : 200.0 - 2 * quality;
        var table = (torch.tensor(LuminanceTable, ScalarType.Float64).reshape(8, 8) * s + 50).div(100).floor().clamp(1, 255);
        coef = (coef / table).round() * table;
        var back = dct.t().matmul(coef).matmul(dct).permute(0, 1, 2, 4, 3, 5).reshape(n, c, hp, wp);
        return (back.narrow(2, 0, h).narrow(3, 0, w) + 128).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>The orthonormal DCT-II matrix: row k is √(α_k/n)·cos(π(2i+1)k/2n).</summary>
    static Tensor DctMatrix(int size)
    {
        var k = torch.arange(size, dtype: ScalarType.Float64).unsqueeze(1);
        var i = torch.arange(size, dtype: ScalarType.Float64).unsqueeze(0);
        var m = torch.cos(Math.PI * (2 * i + 1) * k / (2 * size)) * Math.Sqrt(2.0 / size);
        m[0] = m[0] / Math.Sqrt(2);
        return m;
    }

    /// <summary>Resizes to <paramref name="factor"/>× the size (bilinear, antialiased when shrinking), saves as 8 bits, and resizes back.</summary>
    public static Tensor ResizeRoundTrip(Tensor images, double factor)
    {
        if (!(factor > 0 && factor <= 4)) throw new ParameterException("factor", $"must be in (0, 4], got {factor}");
        using var scope = torch.NewDisposeScope();
        long h = images.shape[2], w = images.shape[3];
        long h2 = Math.Max(1, (long)Math.Round(h * factor)), w2 = Math.Max(1, (long)Math.Round(w * factor));
        var small = Resize(images.to(ScalarType.Float32), h2, w2).round().clamp(0, 255);
        return Resize(small, h, w).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    static Tensor Resize(Tensor x, long h, long w) =>
        nn.functional.interpolate(x, new long[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false,
                                  antialias: h < x.shape[2] || w < x.shape[3]);

    /// <summary>Keeps the central <paramref name="fraction"/> of each side (the result is smaller).</summary>
    public static Tensor CenterCrop(Tensor images, double fraction)
    {
        if (!(fraction > 0 && fraction <= 1)) throw new ParameterException("fraction", $"must be in (0, 1], got {fraction}");
        long h = images.shape[2], w = images.shape[3];
        long ch = Math.Max(1, (long)Math.Round(h * fraction)), cw = Math.Max(1, (long)Math.Round(w * fraction));
        return images.narrow(2, (h - ch) / 2, ch).narrow(3, (w - cw) / 2, cw).contiguous();
    }

    /// <summary>Keeps the central <paramref name="fraction"/> of each side and resizes it back to the original size (bilinear).</summary>
    public static Tensor CropAndResize(Tensor images, double fraction)
    {
        using var scope = torch.NewDisposeScope();
        var crop = CenterCrop(images, fraction).to(ScalarType.Float32);
        return Resize(crop, images.shape[2], images.shape[3]).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>Adds N(0, σ²) noise, σ in grey levels (0–255).</summary>
    public static Tensor GaussianNoise(Tensor images, double sigma, Generator generator)
    {
        if (!(sigma >= 0 && double.IsFinite(sigma))) throw new ParameterException("sigma", $"must be a finite number ≥ 0, got {sigma}");
        using var scope = torch.NewDisposeScope();
        var noise = torch.randn(images.shape, ScalarType.Float32, generator: generator) * sigma;
        return (images.to(ScalarType.Float32) + noise).round().clamp(0, 255).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>Peak signal-to-noise ratio (dB) of each marked image against its original (N) — 255² over the mean squared error.</summary>
    public static Tensor Psnr(Tensor original, Tensor marked)
    {
        using var scope = torch.NewDisposeScope();
        var mse = (original.to(ScalarType.Float64) - marked.to(ScalarType.Float64)).pow(2).mean(new long[] { 1, 2, 3 });
        return (10 * torch.log10(255.0 * 255.0 / mse.clamp_min(1e-12))).MoveToOuterDisposeScope();
    }
}
