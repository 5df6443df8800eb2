using System.Buffers.Binary;
using System.Text;

namespace GenSharp.Media;

/// <summary>
/// PNG <c>tEXt</c> chunks (PNG spec §11.3.4.3): Latin-1 key/value pairs, the way Stable Diffusion UIs keep generation
/// settings under the key "parameters". Inserted just before <c>IEND</c>, each with its CRC-32 (ISO-HDLC, as PNG uses).
/// </summary>
public static class PngText
{
    static readonly byte[] Signature = { 137, 80, 78, 71, 13, 10, 26, 10 };
    static readonly uint[] CrcTable = BuildCrcTable();

    /// <summary>A copy of <paramref name="png"/> with a <c>tEXt</c> chunk <paramref name="key"/> = <paramref name="text"/> before its IEND.</summary>
    /// <param name="png">A whole PNG file.</param>
    /// <param name="key">1–79 Latin-1 characters, no NUL and no leading or trailing space.</param>
    /// <param name="text">Latin-1 text; characters outside Latin-1 are written as '?'.</param>
    public static byte[] Add(byte[] png, string key, string text)
    {
        if (key.Length is < 1 or > 79 || key.Any(c => c == 0 || c > 255) || key[0] == ' ' || key[^1] == ' ')
            throw new ArgumentException($"'{key}' is not a PNG text key: 1-79 Latin-1 characters without NUL or edge spaces", nameof(key));
        int iend = FindIend(png);
        var data = new byte[key.Length + 1 + text.Length];
        for (int i = 0; i < key.Length; i++) data[i] = (byte)key[i];
        for (int i = 0; i < text.Length; i++) data[key.Length + 1 + i] = text[i] is > '\0' and <= 'ÿ' ? (byte)text[i] : (byte)'?';
        var chunk = Chunk("tEXt", data);
        var result = new byte[png.Length + chunk.Length];
        png.AsSpan(0, iend).CopyTo(result);
        chunk.CopyTo(result.AsSpan(iend));
        png.AsSpan(iend).CopyTo(result.AsSpan(iend + chunk.Length));
        return result;
    }

    /// <summary>The <c>tEXt</c> chunks of a PNG file, key → text, in file order (later duplicates win).</summary>
    public static IReadOnlyDictionary<string, string> Read(byte[] png)
    {
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (type, start, length) in Chunks(png))
        {
            if (type != "tEXt") continue;
            var data = png.AsSpan(start, length);
            int nul = data.IndexOf((byte)0);
            if (nul < 1) continue;
            found[Encoding.Latin1.GetString(data[..nul])] = Encoding.Latin1.GetString(data[(nul + 1)..]);
        }
        return found;
    }

    /// <summary>CRC-32 as PNG computes it (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF).</summary>
    public static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in bytes) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFF;
    }

    static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];                          // length, type, data, CRC over type + data
        BinaryPrimitives.WriteUInt32BigEndian(chunk, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, chunk.AsSpan(4, 4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    static int FindIend(byte[] png)
    {
        foreach (var (type, start, _) in Chunks(png))
            if (type == "IEND") return start - 8;
        throw new ArgumentException("the bytes are not a PNG file: no IEND chunk", nameof(png));
    }

    /// <summary>Each chunk's type, and where its data starts and how long it is.</summary>
    static IEnumerable<(string Type, int Start, int Length)> Chunks(byte[] png)
    {
        if (png.Length < Signature.Length || !png.AsSpan(0, Signature.Length).SequenceEqual(Signature))
            throw new ArgumentException("the bytes are not a PNG file: no PNG signature", nameof(png));
        int at = Signature.Length;
        while (at + 12 <= png.Length)
        {
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            if (length > (uint)(png.Length - at - 12)) throw new ArgumentException($"the PNG is truncated: a chunk at byte {at} runs past the end", nameof(png));
            yield return (Encoding.ASCII.GetString(png, at + 4, 4), at + 8, (int)length);
            at += 12 + (int)length;
        }
    }

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
