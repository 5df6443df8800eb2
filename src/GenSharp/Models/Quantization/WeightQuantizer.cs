namespace GenSharp.Models.Quantization;

/// <summary>
/// Quantizes a linear layer's weight matrix W (N outputs, K inputs) to the portable layouts GenSharp saves, and back.
/// int8: symmetric per output channel, q = round(W / s) in [−127, 127] with s = max|W_n·| / 127, W ≈ q·s.
/// int4: asymmetric per group of g inputs, q = round((W − m) / s) in [0, 15] with m = the group's minimum and
/// s = (max − min) / 15, W ≈ q·s + m; two values per byte, the even input in the low nibble.
/// All with libtorch's ops, in float32; a channel or group that is constant gets scale 1 (its q are 0 and m holds it).
/// </summary>
public static class WeightQuantizer
{
    /// <summary>Largest int8 magnitude (symmetric: −127 … 127, so negation is exact).</summary>
    public const int Int8Max = 127;
    /// <summary>Largest int4 code.</summary>
    public const int Int4Max = 15;

    /// <summary>W (N, K) → int8 q (N, K) and float32 scales (N).</summary>
    public static (Tensor QWeight, Tensor Scales) QuantizeInt8(Tensor weight)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var w = weight.detach().to(ScalarType.Float32);
        var s = w.abs().amax(new long[] { 1 }) / Int8Max;                                        // (N)
        s = torch.where(s > 0, s, torch.ones_like(s));
        var q = (w / s.unsqueeze(1)).round().clamp(-Int8Max, Int8Max).to(ScalarType.Int8);      // (N, K)
        return (q.MoveToOuterDisposeScope(), s.contiguous().MoveToOuterDisposeScope());
    }

    /// <summary>W (N, K) → packed uint8 (N, K/2), float32 scales and minimums (N, K/g).</summary>
    public static (Tensor QWeight, Tensor Scales, Tensor Mins) QuantizeInt4(Tensor weight, int groupSize)
    {
        long n = weight.shape[0], k = weight.shape[1];
        if (k % groupSize != 0) throw new ArgumentException($"the input width {k} is not a multiple of the group size {groupSize}");
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var w = weight.detach().to(ScalarType.Float32).reshape(n, k / groupSize, groupSize);    // (N, G, g)
        var m = w.amin(new long[] { 2 }, keepdim: true);
        var s = (w.amax(new long[] { 2 }, keepdim: true) - m) / Int4Max;
        s = torch.where(s > 0, s, torch.ones_like(s));
        var q = ((w - m) / s).round().clamp(0, Int4Max).to(ScalarType.Int32).reshape(n, k / 2, 2);
        var packed = (q.select(2, 0) + q.select(2, 1) * 16).to(ScalarType.Byte);                // (N, K/2), even input low
        return (packed.contiguous().MoveToOuterDisposeScope(), s.squeeze(2).contiguous().MoveToOuterDisposeScope(),
                m.squeeze(2).contiguous().MoveToOuterDisposeScope());
    }

    /// <summary>The int4 codes (N, K) as int32 in [0, 15] of a packed (N, K/2) matrix.</summary>
    public static Tensor UnpackInt4(Tensor packed)
    {
        using var scope = torch.NewDisposeScope();
        var p = packed.to(ScalarType.Int32);
        var codes = torch.stack(new[] { p.remainder(16), p.floor_divide(16) }, 2);              // (N, K/2, 2)
        return codes.reshape(packed.shape[0], packed.shape[1] * 2).MoveToOuterDisposeScope();
    }

    /// <summary>q·s as float32 (N, K).</summary>
    public static Tensor DequantizeInt8(Tensor qweight, Tensor scales)
    {
        using var scope = torch.NewDisposeScope();
        return (qweight.to(ScalarType.Float32) * scales.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>q·s + m as float32 (N, K).</summary>
    public static Tensor DequantizeInt4(Tensor qweight, Tensor scales, Tensor mins)
    {
        using var scope = torch.NewDisposeScope();
        long n = qweight.shape[0], k = qweight.shape[1] * 2, groups = scales.shape[1];
        var q = UnpackInt4(qweight).to(ScalarType.Float32).reshape(n, groups, k / groups);
        return (q * scales.unsqueeze(2) + mins.unsqueeze(2)).reshape(n, k).MoveToOuterDisposeScope();
    }
}
