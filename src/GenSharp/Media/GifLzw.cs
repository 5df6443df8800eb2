namespace GenSharp.Media;

/// <summary>
/// The variable-length LZW compression of GIF image data (GIF89a specification, Appendix F): codes start one
/// bit wider than the minimum code size, grow to at most 12 bits, are packed least significant bit first and
/// split into sub-blocks of at most 255 bytes.
/// </summary>
internal static class GifLzw
{
    const int MaxCodeBits = 12;
    const int MaxCodes = 1 << MaxCodeBits;   // 4096

    /// <summary>
    /// Compresses palette indices (each below 2^<paramref name="minCodeSize"/>) and writes the LZW minimum code size
    /// byte, the data sub-blocks and the block terminator to <paramref name="output"/>.
    /// </summary>
    internal static void Write(Stream output, ReadOnlySpan<byte> indices, int minCodeSize)
    {
        if (minCodeSize is < 2 or > 8) throw new ArgumentOutOfRangeException(nameof(minCodeSize));
        output.WriteByte((byte)minCodeSize);
        var blocks = new SubBlockWriter(output);
        Compress(indices, minCodeSize, ref blocks);
        blocks.Finish();
    }

    static void Compress(ReadOnlySpan<byte> indices, int minCodeSize, ref SubBlockWriter output)
    {
        int clear = 1 << minCodeSize, end = clear + 1;
        int codeBits = minCodeSize + 1, next = end + 1;
        // (prefix code << 8 | next index) → code of that string.
        var table = new Dictionary<int, int>(MaxCodes);
        output.WriteCode(clear, codeBits);
        if (indices.IsEmpty)
        {
            output.WriteCode(end, codeBits);
            return;
        }
        int prefix = Check(indices[0], clear);
        for (int i = 1; i < indices.Length; i++)
        {
            int c = Check(indices[i], clear);
            int key = (prefix << 8) | c;
            if (table.TryGetValue(key, out int code))
            {
                prefix = code;
                continue;
            }
            output.WriteCode(prefix, codeBits);
            if (next < MaxCodes)
            {
                table[key] = next++;
                // The decoder adds its entry one code later than we do, so it widens its codes once it has
                // assigned 2^bits entries, i.e. when our next free code passes 2^bits.
                if (next > (1 << codeBits) && codeBits < MaxCodeBits) codeBits++;
            }
            else
            {
                // Table full: start over rather than keep coding with a frozen dictionary.
                output.WriteCode(clear, codeBits);
                table.Clear();
                codeBits = minCodeSize + 1;
                next = end + 1;
            }
            prefix = c;
        }
        output.WriteCode(prefix, codeBits);
        output.WriteCode(end, codeBits);
    }

    static int Check(byte index, int clear) =>
        index < clear ? index : throw new ArgumentException($"palette index {index} does not fit the code size");

    /// <summary>Packs codes LSB first into bytes and the bytes into length-prefixed sub-blocks.</summary>
    struct SubBlockWriter(Stream output)
    {
        readonly byte[] _block = new byte[255];
        int _count;
        int _bitBuffer;
        int _bitCount;

        public void WriteCode(int code, int bits)
        {
            _bitBuffer |= code << _bitCount;
            _bitCount += bits;
            while (_bitCount >= 8)
            {
                Put((byte)_bitBuffer);
                _bitBuffer >>= 8;
                _bitCount -= 8;
            }
        }

        public void Finish()
        {
            if (_bitCount > 0) Put((byte)_bitBuffer);
            _bitBuffer = 0;
            _bitCount = 0;
            Flush();
            output.WriteByte(0);   // block terminator
        }

        void Put(byte b)
        {
            _block[_count++] = b;
            if (_count == _block.Length) Flush();
        }

        void Flush()
        {
            if (_count == 0) return;
            output.WriteByte((byte)_count);
            output.Write(_block, 0, _count);
            _count = 0;
        }
    }
}
