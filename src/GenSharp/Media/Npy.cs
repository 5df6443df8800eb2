using GenSharp.Checkpoints;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using GenSharp.Runtime;

namespace GenSharp.Media;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format version 1.0, C order, little-endian), so tensors
/// can be inspected with <c>numpy.load</c> and arrays made in Python can be loaded back.
/// </summary>
/// <remarks>
/// Supported element types: <c>uint8</c> (<c>'|u1'</c>), <c>float32</c> (<c>'&lt;f4'</c>) and
/// <c>int64</c> (<c>'&lt;i8'</c>). The preamble (magic, version, header length and header dictionary,
/// padded with spaces and ended by a newline) is a multiple of 64 bytes, as NumPy writes it.
/// </remarks>
public static class Npy
{
    static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>Writes <paramref name="tensor"/> (any device, any layout) to <paramref name="path"/> as .npy v1.0, replacing it atomically.</summary>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="tensor">A uint8, float32 or int64 tensor of any shape (including 0-d).</param>
    public static void Save(string path, Tensor tensor)
    {
        AtomicFile.CheckPath(path);
        if (tensor is null) throw new GenSharpException("tensor is null; pass a tensor to save");
        var descr = DescrOf(tensor.dtype)
            ?? throw new GenSharpException(
                $"cannot save dtype {tensor.dtype} as .npy; convert to uint8, float32 or int64 first (e.g. tensor.to(torch.float32))");
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException(".npy writing assumes a little-endian machine");
        TorchRuntime.EnsureReady();
        using var scope = torch.NewDisposeScope();
        var data = tensor.detach().to(torch.CPU).contiguous();
        var header = BuildPreamble(descr, tensor.shape);
        AtomicFile.Write(path, stream =>
        {
            stream.Write(header);
            if (data.numel() > 0) stream.Write(data.bytes);
        });
    }

    /// <summary>
    /// Reads a .npy file written by <see cref="Save"/> or by NumPy (versions 1.0–3.0) holding a
    /// C-order uint8, float32 or int64 array, and returns a CPU tensor the caller owns.
    /// </summary>
    /// <param name="path">An existing .npy file.</param>
    public static Tensor Load(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new GenSharpException("path is empty; give the .npy file to read");
        if (!File.Exists(path)) throw new GenSharpException($".npy file '{path}' does not exist; check the path");
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var fixedPart = new byte[8];
        if (fs.ReadAtLeast(fixedPart, 8, throwOnEndOfStream: false) < 8 || !fixedPart.AsSpan(0, 6).SequenceEqual(Magic))
            throw new GenSharpException($"'{path}' is not a .npy file (no \\x93NUMPY magic); pass a file written by numpy.save or Npy.Save");
        int major = fixedPart[6];
        int headerLength;
        if (major == 1)
        {
            var len = new byte[2];
            ReadExactly(fs, len, path);
            headerLength = len[0] | (len[1] << 8);
        }
        else if (major is 2 or 3)
        {
            var len = new byte[4];
            ReadExactly(fs, len, path);
            long l = (uint)(len[0] | (len[1] << 8) | (len[2] << 16) | (len[3] << 24));
            if (l > 1 << 24) throw new GenSharpException($"'{path}' has an implausible .npy header length {l}; the file is damaged");
            headerLength = (int)l;
        }
        else
        {
            throw new GenSharpException($"'{path}' uses .npy format version {major}.{fixedPart[7]}; save it with format version 1.0, 2.0 or 3.0");
        }
        var headerBytes = new byte[headerLength];
        ReadExactly(fs, headerBytes, path);
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        var (descr, fortran, shape) = ParseHeader(header, path);
        if (fortran)
            throw new GenSharpException($"'{path}' stores a Fortran-order array; save it in C order (numpy.ascontiguousarray) and try again");
        var dtype = DtypeOf(descr)
            ?? throw new GenSharpException(
                $"'{path}' holds element type '{descr}'; only '|u1' (uint8), '<f4' (float32) and '<i8' (int64) are supported, convert with arr.astype(...)");

        TorchRuntime.EnsureReady();
        var result = torch.empty(shape, dtype: dtype);
        try
        {
            long expected = result.numel() * result.element_size();
            long remaining = fs.Length - fs.Position;
            if (remaining < expected)
                throw new GenSharpException($"'{path}' is truncated: shape ({string.Join(", ", shape)}) needs {expected} data bytes but only {remaining} remain; write the file again");
            if (expected > 0) ReadExactly(fs, result.bytes, path);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>The complete preamble (magic through the newline-terminated header) for an array.</summary>
    internal static byte[] BuildPreamble(string descr, ReadOnlySpan<long> shape)
    {
        var shapeText = shape.Length switch
        {
            0 => "()",
            1 => $"({shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", shape.ToArray().Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        const int fixedLength = 10; // magic (6) + version (2) + header length (2)
        int unpadded = fixedLength + dict.Length + 1; // + the final newline
        int total = (unpadded + 63) / 64 * 64;
        int headerLength = total - fixedLength;
        if (headerLength > ushort.MaxValue)
            throw new GenSharpException($"the .npy header for shape {shapeText} is too long for format 1.0; save fewer dimensions");
        var bytes = new byte[total];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        bytes[8] = (byte)(headerLength & 0xFF);
        bytes[9] = (byte)(headerLength >> 8);
        var text = dict + new string(' ', total - unpadded) + "\n";
        Encoding.ASCII.GetBytes(text, 0, text.Length, bytes, fixedLength);
        return bytes;
    }

    static string? DescrOf(ScalarType dtype) => dtype switch
    {
        ScalarType.Byte => "|u1",
        ScalarType.Float32 => "<f4",
        ScalarType.Int64 => "<i8",
        _ => null,
    };

    static ScalarType? DtypeOf(string descr) => descr switch
    {
        "|u1" or "<u1" or "u1" => ScalarType.Byte,
        "<f4" => ScalarType.Float32,
        "<i8" => ScalarType.Int64,
        _ => null,
    };

    static (string descr, bool fortran, long[] shape) ParseHeader(string header, string path)
    {
        var descr = Regex.Match(header, @"['""]descr['""]\s*:\s*['""]([^'""]*)['""]");
        var fortran = Regex.Match(header, @"['""]fortran_order['""]\s*:\s*(True|False)");
        var shape = Regex.Match(header, @"['""]shape['""]\s*:\s*\(([^)]*)\)");
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new GenSharpException($"'{path}' has a malformed .npy header (needs descr, fortran_order and shape); write the file again");
        var dims = new List<long>();
        foreach (var part in shape.Groups[1].Value.Split(','))
        {
            var p = part.Trim().TrimEnd('L');
            if (p.Length == 0) continue;
            if (!long.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var d))
                throw new GenSharpException($"'{path}' has a malformed .npy shape '({shape.Groups[1].Value})'; write the file again");
            dims.Add(d);
        }
        return (descr.Groups[1].Value, fortran.Groups[1].Value == "True", dims.ToArray());
    }

    static void ReadExactly(Stream s, Span<byte> buffer, string path)
    {
        try
        {
            s.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new GenSharpException($"'{path}' ends too early for a .npy file; write it again");
        }
    }
}
