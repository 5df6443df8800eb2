using System.Buffers.Binary;
using System.Text;
using GenSharp.Checkpoints;

namespace GenSharp.Media.Audio;

/// <summary>
/// Reads and writes RIFF/WAVE files holding 16-bit signed PCM, one channel, any sample rate — the form of the Allison
/// corpus and what sox writes with <c>-b 16 -c 1 -e signed-integer</c>. Other encodings (float, 8/24/32-bit, μ-law,
/// stereo) are refused with a one-line message naming the sox command that converts them.
/// </summary>
public static class WavFile
{
    /// <summary>Reads a mono PCM16 WAV file.</summary>
    /// <exception cref="GenSharpException">The file is missing, not a WAV file, or in a format other than mono PCM16.</exception>
    public static Waveform Read(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"{path}: WAV file not found");
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes the bytes of a mono PCM16 WAV file; <paramref name="name"/> names it in messages.</summary>
    public static Waveform Decode(ReadOnlySpan<byte> bytes, string name = "WAV data")
    {
        string Convert() => $"convert it with 'sox {name} -b 16 -c 1 -e signed-integer out.wav'";
        if (bytes.Length < 12 || Encoding.ASCII.GetString(bytes[..4]) != "RIFF" || Encoding.ASCII.GetString(bytes[8..12]) != "WAVE")
            throw new GenSharpException($"{name}: not a RIFF/WAVE file");
        int pos = 12;
        int? rate = null;
        short[]? samples = null;
        while (pos + 8 <= bytes.Length)
        {
            var id = Encoding.ASCII.GetString(bytes.Slice(pos, 4));
            long size = BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(pos + 4, 4));
            int body = pos + 8;
            // A truncated last chunk (a writer that died before fixing the sizes) is read as far as it goes.
            int available = (int)Math.Min(size, bytes.Length - body);
            if (id == "fmt ")
            {
                if (available < 16) throw new GenSharpException($"{name}: fmt chunk too short ({available} bytes)");
                var fmt = bytes.Slice(body, available);
                int format = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
                int channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
                int sampleRate = (int)BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
                int bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
                // WAVE_FORMAT_EXTENSIBLE (0xFFFE) carries the real format in the first two bytes of its sub-format GUID.
                if (format == 0xFFFE && available >= 26) format = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
                string encoding = format switch { 1 => "PCM", 3 => "IEEE float", 6 => "A-law", 7 => "μ-law", _ => $"format tag {format}" };
                if (format != 1 || bits != 16)
                    throw new GenSharpException($"{name}: {bits}-bit {encoding} is not supported (GenSharp reads 16-bit PCM); {Convert()}");
                if (channels != 1)
                    throw new GenSharpException($"{name}: {channels} channels are not supported (GenSharp reads mono); {Convert()}");
                if (sampleRate <= 0) throw new GenSharpException($"{name}: sample rate {sampleRate} is invalid");
                rate = sampleRate;
            }
            else if (id == "data")
            {
                if (rate is null) throw new GenSharpException($"{name}: data chunk before the fmt chunk");
                samples = new short[available / 2];
                for (int i = 0; i < samples.Length; i++) samples[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes.Slice(body + 2 * i, 2));
            }
            pos = body + (int)Math.Min(size + (size & 1), bytes.Length - body); // chunks are padded to even sizes
        }
        if (rate is null) throw new GenSharpException($"{name}: no fmt chunk");
        if (samples is null) throw new GenSharpException($"{name}: no data chunk");
        return new Waveform(samples, rate.Value);
    }

    /// <summary>Writes <paramref name="wave"/> as a mono PCM16 WAV file (replaced atomically; its folder is created).</summary>
    public static void Write(string path, Waveform wave)
    {
        AtomicFile.CheckPath(path);
        AtomicFile.WriteAllBytes(path, Encode(wave));
    }

    /// <summary>The bytes of a mono PCM16 WAV file holding <paramref name="wave"/>.</summary>
    public static byte[] Encode(Waveform wave)
    {
        int dataBytes = wave.Samples.Length * 2;
        var b = new byte[44 + dataBytes];
        var s = b.AsSpan();
        Encoding.ASCII.GetBytes("RIFF").CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)(36 + dataBytes));
        Encoding.ASCII.GetBytes("WAVEfmt ").CopyTo(s[8..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteUInt16LittleEndian(s[20..], 1);                         // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(s[22..], 1);                         // mono
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)wave.SampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(s[28..], (uint)(wave.SampleRate * 2)); // bytes per second
        BinaryPrimitives.WriteUInt16LittleEndian(s[32..], 2);                         // block align
        BinaryPrimitives.WriteUInt16LittleEndian(s[34..], 16);                        // bits per sample
        Encoding.ASCII.GetBytes("data").CopyTo(s[36..]);
        BinaryPrimitives.WriteUInt32LittleEndian(s[40..], (uint)dataBytes);
        for (int i = 0; i < wave.Samples.Length; i++) BinaryPrimitives.WriteInt16LittleEndian(s[(44 + 2 * i)..], wave.Samples[i]);
        return b;
    }
}
