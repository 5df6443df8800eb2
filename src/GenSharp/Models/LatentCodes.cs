using System.Buffers.Binary;

namespace GenSharp.Models;

/// <summary>
/// Lossy compression with an autoencoder: each latent coordinate of the posterior mean is mapped
/// through the prior's CDF Φ to (0, 1) and quantised uniformly to 2^bits levels, i.e. into bins of
/// equal prior probability (so every code is equally likely under the prior). Decoding takes each
/// bin's probability midpoint back through Φ⁻¹. File: "GSCODES1", u16 latent dim, u8 bits,
/// u32 count, u8 channels, u16 height, u16 width, then the codes bit-packed, MSB first.
/// </summary>
public sealed class LatentCodes
{
    static readonly byte[] Magic = "GSCODES1"u8.ToArray();

    public LatentCodes(int latentDim, int bits, int channels, int height, int width, ushort[] codes)
    {
        if (bits is < 1 or > 16) throw new ParameterException("bits", $"must be in [1, 16], got {bits}");
        if (codes.Length % latentDim != 0) throw new ArgumentException("codes length is not a multiple of latent_dim");
        (LatentDim, Bits, Channels, Height, Width, Codes) = (latentDim, bits, channels, height, width, codes);
    }

    public int LatentDim { get; }
    public int Bits { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>Codes, item-major: item i's latent j at [i·LatentDim + j].</summary>
    public ushort[] Codes { get; }
    public int Count => Codes.Length / LatentDim;
    /// <summary>Payload bits per image (header excluded).</summary>
    public int BitsPerImage => LatentDim * Bits;

    /// <summary>Quantises latents (N, D) to codes.</summary>
    public static LatentCodes Quantize(Tensor latents, int bits, int channels, int height, int width)
    {
        if (bits is < 1 or > 16) throw new ParameterException("bits", $"must be in [1, 16], got {bits}");
        using var scope = torch.NewDisposeScope();
        int levels = 1 << bits;
        var u = (torch.erf(latents.cpu().to(ScalarType.Float64) / Math.Sqrt(2)) + 1) * 0.5; // Φ(z) ∈ (0, 1)
        var q = (u * levels).floor().clamp(0, levels - 1).to(ScalarType.Int32);
        var codes = q.flatten().data<int>().Select(v => (ushort)v).ToArray();
        return new LatentCodes((int)latents.shape[1], bits, channels, height, width, codes);
    }

    /// <summary>Latents (N, D) at the centres (in probability) of the code bins.</summary>
    public Tensor Dequantize()
    {
        int levels = 1 << Bits;
        using var scope = torch.NewDisposeScope();
        var c = torch.tensor(Codes.Select(x => (double)x).ToArray()).reshape(Count, LatentDim);
        var p = (c + 0.5) / levels;                                  // bin midpoint in (0, 1)
        // Note: TorchSharp 0.107's torch.erfinv(t) computes erf; the tensor method is correct.
        var z = (p * 2 - 1).erfinv() * Math.Sqrt(2);                // Φ⁻¹(p)
        return z.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Writes the code file atomically.</summary>
    public void Save(string path)
    {
        using var ms = new MemoryStream();
        ms.Write(Magic);
        Span<byte> h = stackalloc byte[12];
        BinaryPrimitives.WriteUInt16LittleEndian(h[0..], (ushort)LatentDim);
        h[2] = (byte)Bits;
        BinaryPrimitives.WriteUInt32LittleEndian(h[3..], (uint)Count);
        h[7] = (byte)Channels;
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], (ushort)Height);
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], (ushort)Width);
        ms.Write(h);
        int acc = 0, nAcc = 0;
        foreach (var code in Codes)
        {
            for (int b = Bits - 1; b >= 0; b--)
            {
                acc = (acc << 1) | ((code >> b) & 1);
                if (++nAcc == 8) { ms.WriteByte((byte)acc); acc = 0; nAcc = 0; }
            }
        }
        if (nAcc > 0) ms.WriteByte((byte)(acc << (8 - nAcc)));
        Checkpoints.AtomicFile.WriteAllBytes(path, ms.ToArray());
    }

    /// <summary>Reads a code file, rejecting anything malformed with a one-line error.</summary>
    public static LatentCodes Load(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"code file '{path}' does not exist");
        var b = File.ReadAllBytes(path);
        if (b.Length < 20 || !b.AsSpan(0, 8).SequenceEqual(Magic))
            throw new GenSharpException($"'{path}' is not a GenSharp code file (bad magic); make one with 'gensharp encode'");
        int d = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)), bits = b[10];
        long n = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(11));
        int c = b[15], hgt = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(16)), w = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(18));
        if (d == 0 || bits is < 1 or > 16) throw new GenSharpException($"'{path}': invalid header (latent dim {d}, bits {bits})");
        long payloadBits = n * d * bits;
        if (b.Length - 20 != (payloadBits + 7) / 8)
            throw new GenSharpException($"'{path}' is truncated or has trailing bytes: expected {(payloadBits + 7) / 8} payload bytes, found {b.Length - 20}");
        var codes = new ushort[n * d];
        long bit = 0;
        for (long i = 0; i < codes.Length; i++)
        {
            int v = 0;
            for (int k = 0; k < bits; k++, bit++)
                v = (v << 1) | ((b[20 + (bit >> 3)] >> (7 - (int)(bit & 7))) & 1);
            codes[i] = (ushort)v;
        }
        return new LatentCodes(d, bits, c, hgt, w, codes);
    }
}
