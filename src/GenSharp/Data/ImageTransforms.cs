using GenSharp.Sampling;

namespace GenSharp.Data;

/// <summary>
/// Whole-batch image transforms built from tensor operations. Inputs are not modified; each call
/// returns a new tensor that the caller owns. Random transforms draw from torch's global generator
/// (so saving and restoring torch's RNG state, or seeding it, makes them repeatable) unless a
/// <see cref="torch.Generator"/> is passed.
/// </summary>
public static class ImageTransforms
{
    /// <summary>Converts uint8 pixels to float32 in the chosen range.</summary>
    /// <param name="u8">uint8 tensor of any shape.</param>
    /// <param name="scale">Target range: [0, 1] or [-1, 1].</param>
    /// <exception cref="ArgumentException"><paramref name="u8"/> is not uint8.</exception>
    public static Tensor ToFloat(Tensor u8, PixelScale scale)
    {
        RequireUInt8(u8, nameof(u8));
        using var scope = NewDisposeScope();
        var x = u8.to_type(ScalarType.Float32);
        var y = scale switch
        {
            PixelScale.ZeroOne => x.div(255.0),
            PixelScale.MinusOneOne => x.mul(2.0 / 255.0).sub(1.0),
            _ => throw new ArgumentOutOfRangeException(nameof(scale), scale, "unknown pixel scale"),
        };
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Uniform dequantization: (x + u) / 256 with u ~ U[0, 1) drawn independently per pixel, so pixel
    /// value x lands in [x/256, (x+1)/256). Turns discrete pixels into a continuous density's support.
    /// </summary>
    /// <param name="u8">uint8 tensor of any shape.</param>
    /// <param name="generator">Generator to draw from; torch's global generator when null.</param>
    /// <returns>float32 tensor of the same shape, values in [0, 1).</returns>
    /// <exception cref="ArgumentException"><paramref name="u8"/> is not uint8.</exception>
    public static Tensor Dequantize(Tensor u8, torch.Generator? generator = null)
    {
        RequireUInt8(u8, nameof(u8));
        using var scope = NewDisposeScope();
        var noise = torch.rand(u8.shape, dtype: ScalarType.Float32, device: u8.device, generator: generator);
        return u8.to_type(ScalarType.Float32).add(noise).div(256.0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Binarizes values in [0, 1]: deterministically (1 where x &gt; threshold, else 0) or stochastically
    /// (each value becomes 1 with probability x, a Bernoulli draw).
    /// </summary>
    /// <param name="x01">Floating-point tensor with values in [0, 1].</param>
    /// <param name="stochastic">Draw Bernoulli(x) when true; compare with <paramref name="threshold"/> when false.</param>
    /// <param name="threshold">Cut-off for the deterministic mode.</param>
    /// <param name="generator">Generator for the stochastic mode; torch's global generator when null.</param>
    /// <returns>Tensor of 0s and 1s with the dtype and shape of <paramref name="x01"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="x01"/> is not a floating-point tensor.</exception>
    public static Tensor Binarize(Tensor x01, bool stochastic, double threshold = 0.5, torch.Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x01);
        if (!x01.is_floating_point())
            throw new ArgumentException($"expected a floating-point tensor with values in [0, 1], got {x01.dtype}; convert with ToFloat first", nameof(x01));
        using var scope = NewDisposeScope();
        var y = stochastic
            ? BernoulliSampling.Sample(x01.clamp(0.0, 1.0), generator)
            : x01.gt(threshold).to_type(x01.dtype);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Mirrors each image left-to-right independently with probability <paramref name="p"/>.</summary>
    /// <param name="x">Batch of images (N, ..., W), any dtype; the last dimension is the width.</param>
    /// <param name="p">Probability of flipping each image, in [0, 1]: 0 never flips, 1 always does.</param>
    /// <param name="generator">Generator to draw from; torch's global generator when null.</param>
    /// <exception cref="ArgumentException"><paramref name="x"/> has fewer than 2 dimensions.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Tensor RandomHorizontalFlip(Tensor x, double p = 0.5, torch.Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2)
            throw new ArgumentException($"expected a batch of images (N, ..., W), got shape ({string.Join(", ", x.shape)})", nameof(x));
        if (!(p >= 0.0 && p <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(p), p, "flip probability must lie in [0, 1]");
        using var scope = NewDisposeScope();
        var maskShape = new long[x.dim()];
        Array.Fill(maskShape, 1L);
        maskShape[0] = x.shape[0];
        var flip = torch.rand(new[] { x.shape[0] }, dtype: ScalarType.Float32, device: x.device, generator: generator)
            .lt(p).reshape(maskShape);
        return torch.where(flip, x.flip(-1), x).MoveToOuterDisposeScope();
    }

    static void RequireUInt8(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        if (t.dtype != ScalarType.Byte)
            throw new ArgumentException($"expected a uint8 tensor, got {t.dtype}", name);
    }
}
