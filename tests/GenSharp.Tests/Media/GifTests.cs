using System.Text;
using GenSharp.Media;
using GenSharp.Runtime;
using SkiaSharp;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// GifEncoder checked against two decoders that share no code with it: a minimal GIF parser and LZW decoder
/// written here from the GIF89a specification, and SkiaSharp's GIF codec (the repo's existing image library,
/// which reads GIFs on Linux).
/// </summary>
public sealed class GifTests : IDisposable
{
    readonly string _dir;

    public GifTests()
    {
        TorchRuntime.EnsureReady();
        _dir = Path.Combine(Path.GetTempPath(), "gensharp-gif-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ------------------------------------------------------------------ independent decoder

    sealed record DecodedGif(int Width, int Height, byte[] Palette, int? LoopCount, List<(int Delay, byte[] Indices)> Frames)
    {
        public (byte R, byte G, byte B) Colour(int frame, int x, int y)
        {
            int i = Frames[frame].Indices[y * Width + x];
            return (Palette[3 * i], Palette[3 * i + 1], Palette[3 * i + 2]);
        }
    }

    /// <summary>Parses a GIF89a with a global colour table and full-screen frames (what the encoder promises to write).</summary>
    static DecodedGif Parse(byte[] gif)
    {
        int pos = 0;
        int U8() => gif[pos++];
        int U16() { int v = gif[pos] | (gif[pos + 1] << 8); pos += 2; return v; }
        byte[] Bytes(int n) { var b = gif[pos..(pos + n)]; pos += n; return b; }
        List<byte> SubBlocks()
        {
            var data = new List<byte>();
            for (int n = U8(); n != 0; n = U8()) data.AddRange(Bytes(n));
            return data;
        }

        Assert.Equal("GIF89a", Encoding.ASCII.GetString(Bytes(6)));
        int width = U16(), height = U16();
        int packed = U8();
        Assert.True((packed & 0x80) != 0, "no global colour table");
        int tableSize = 2 << (packed & 7);
        U8(); U8();
        var palette = Bytes(3 * tableSize);
        int? loop = null;
        int delay = -1;
        var frames = new List<(int, byte[])>();
        while (true)
        {
            int block = U8();
            if (block == 0x3B) break;
            if (block == 0x21)
            {
                int label = U8();
                if (label == 0xFF)
                {
                    Assert.Equal(11, U8());
                    string app = Encoding.ASCII.GetString(Bytes(11));
                    var data = SubBlocks();
                    if (app == "NETSCAPE2.0") { Assert.Equal(1, data[0]); loop = data[1] | (data[2] << 8); }
                }
                else if (label == 0xF9)
                {
                    var data = SubBlocks();
                    Assert.Equal(4, data.Count);
                    delay = data[1] | (data[2] << 8);
                }
                else SubBlocks();
            }
            else if (block == 0x2C)
            {
                Assert.Equal(0, U16());
                Assert.Equal(0, U16());
                Assert.Equal(width, U16());
                Assert.Equal(height, U16());
                Assert.Equal(0, U8() & 0xC0);   // no local table, not interlaced
                int minCodeSize = U8();
                var indices = LzwDecode(SubBlocks().ToArray(), minCodeSize, width * height);
                frames.Add((delay, indices));
            }
            else Assert.Fail($"unexpected block 0x{block:X2} at byte {pos - 1}");
        }
        Assert.Equal(gif.Length, pos);   // nothing after the trailer
        return new DecodedGif(width, height, palette, loop, frames);
    }

    /// <summary>GIF LZW decoding as the specification's Appendix F describes it, with a prefix/suffix string table.</summary>
    static byte[] LzwDecode(byte[] data, int minCodeSize, int pixelCount)
    {
        int clear = 1 << minCodeSize, eoi = clear + 1;
        var prefix = new int[4096];
        var suffix = new byte[4096];
        var length = new int[4096];
        for (int i = 0; i < clear; i++) { prefix[i] = -1; suffix[i] = (byte)i; length[i] = 1; }
        var output = new List<byte>(pixelCount);
        int bitPos = 0;
        int size = minCodeSize + 1, next = eoi + 1, old = -1;
        bool sawClear = false, sawEnd = false;

        int ReadCode()
        {
            int code = 0;
            for (int b = 0; b < size; b++, bitPos++)
            {
                if (bitPos / 8 >= data.Length) return -1;
                code |= ((data[bitPos / 8] >> (bitPos % 8)) & 1) << b;
            }
            return code;
        }
        byte[] StringOf(int code)
        {
            var s = new byte[length[code]];
            for (int i = s.Length - 1; i >= 0; i--) { s[i] = suffix[code]; code = prefix[code]; }
            return s;
        }

        while (true)
        {
            int code = ReadCode();
            Assert.True(code >= 0, "data ended before the end-of-information code");
            if (code == clear)
            {
                sawClear = true;
                size = minCodeSize + 1;
                next = eoi + 1;
                old = -1;
                continue;
            }
            if (code == eoi) { sawEnd = true; break; }
            Assert.True(sawClear, "the first code must be a clear code");
            byte[] str;
            if (old < 0)
            {
                Assert.True(code < clear, $"first code after clear is {code}");
                str = StringOf(code);
            }
            else
            {
                if (code < next) str = StringOf(code);
                else
                {
                    Assert.Equal(next, code);                 // the KwKwK case
                    var o = StringOf(old);
                    str = [.. o, o[0]];
                }
                if (next < 4096)
                {
                    prefix[next] = old;
                    suffix[next] = str[0];
                    length[next] = length[old] + 1;
                    next++;
                    if (next == (1 << size) && size < 12) size++;
                }
            }
            output.AddRange(str);
            old = code;
        }
        Assert.True(sawEnd);
        Assert.Equal(data.Length, (bitPos + 7) / 8);   // no bytes left over after the end code
        Assert.Equal(pixelCount, output.Count);
        return output.ToArray();
    }

    /// <summary>SkiaSharp's view of every frame as RGBA bytes, with its durations and repetition count.</summary>
    static (int Width, int Height, int Repetitions, int[] DurationsMs, byte[][] Rgba) SkiaDecode(byte[] gif)
    {
        using var data = SKData.CreateCopy(gif);
        using var codec = SKCodec.Create(data) ?? throw new Xunit.Sdk.XunitException("SkiaSharp could not open the GIF");
        Assert.Equal(SKEncodedImageFormat.Gif, codec.EncodedFormat);
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int count = Math.Max(codec.FrameCount, 1);
        var frames = new byte[count][];
        for (int f = 0; f < count; f++)
        {
            using var bitmap = new SKBitmap(info);
            var result = codec.GetPixels(info, bitmap.GetPixels(), new SKCodecOptions(f));
            Assert.Equal(SKCodecResult.Success, result);
            frames[f] = bitmap.GetPixelSpan().ToArray();
        }
        return (info.Width, info.Height, codec.RepetitionCount, codec.FrameInfo.Select(fi => fi.Duration).ToArray(), frames);
    }

    // ------------------------------------------------------------------ tests

    [Fact]
    public void GifHeaderLoopAndTrailerBytesAreRight()
    {
        var frame = torch.zeros(2, 3);   // (H, W) = 2x3, black
        var gif = GifEncoder.Encode(new[] { frame, frame }, delayCentiseconds: 7);
        // "GIF89a", width 3, height 2 (little endian), global table of 256 with 8-bit colour resolution.
        Assert.Equal(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 3, 0, 2, 0, 0xF7, 0, 0 }, gif[..13]);
        // NETSCAPE2.0 block right after the 768-byte table: loop forever = count 0.
        byte[] netscape = [0x21, 0xFF, 0x0B, .. Encoding.ASCII.GetBytes("NETSCAPE2.0"), 0x03, 0x01, 0x00, 0x00, 0x00];
        Assert.Equal(netscape, gif[(13 + 768)..(13 + 768 + 19)]);
        // First graphic control extension: disposal "leave", delay 7 cs.
        Assert.Equal(new byte[] { 0x21, 0xF9, 0x04, 0x04, 7, 0, 0, 0 }, gif[(13 + 768 + 19)..(13 + 768 + 27)]);
        Assert.Equal(0x3B, gif[^1]);

        var looped = GifEncoder.Encode(new[] { frame }, 10, loopCount: 3);
        Assert.Equal(3, Parse(looped).LoopCount);
    }

    [Fact]
    public void GifTinyFrameMatchesHandComputedLzw()
    {
        // A 2x2 frame of grey levels 0,0,0,255, minimum code size 8 (9-bit codes), worked by hand:
        //   clear 256; pixel 0 then 0: "00" unknown → emit 0, add "00" = 258; pixels 2-3 "00" known, then 255:
        //   "00 255" unknown → emit 258, add it as 259; end → emit 255, then end-of-information 257.
        var frame = torch.tensor(new byte[] { 0, 0, 0, 255 }, dtype: torch.uint8).reshape(1, 2, 2);
        var gif = GifEncoder.Encode(new[] { frame }, 0);
        int[] codes = { 256, 0, 258, 255, 257 };
        ulong bits = 0;
        for (int i = 0; i < codes.Length; i++) bits |= (ulong)codes[i] << (9 * i);
        var expected = new List<byte> { 8, 6 };                   // min code size, then one 6-byte sub-block (45 bits)
        for (int i = 0; i < 6; i++) expected.Add((byte)(bits >> (8 * i)));
        expected.Add(0);                                          // block terminator
        var data = gif[^(expected.Count + 1)..^1];                // just before the trailer
        Assert.Equal(expected, data);
        Assert.Equal(new byte[] { 0, 0, 0, 255 }, Parse(gif).Frames[0].Indices);
    }

    [Fact]
    public void GifGreyFramesRoundTripExactly()
    {
        TorchRuntime.Seed(3);
        var frames = new List<Tensor>
        {
            torch.rand(1, 21, 33),                                     // noise, floats
            torch.linspace(0, 1, 33).expand(21, 33).contiguous(),      // (H, W) gradient
            torch.ones(1, 21, 33) * 0.5f,                              // constant: long runs
            torch.randint(0, 256, new long[] { 3, 21, 33 }, dtype: torch.uint8).narrow(0, 0, 1).expand(3, 21, 33), // RGB but grey
        };
        var gif = GifEncoder.Encode(frames, delayCentiseconds: 12);
        var expected = frames.Select(f => ImageGrid.ToUint8(f).reshape(-1, 21, 33)[0].contiguous().data<byte>().ToArray()).ToList();

        var parsed = Parse(gif);
        Assert.Equal((33, 21), (parsed.Width, parsed.Height));
        Assert.Equal(0, parsed.LoopCount);
        Assert.Equal(4, parsed.Frames.Count);
        for (int i = 0; i < 256; i++) Assert.Equal(new[] { (byte)i, (byte)i, (byte)i }, parsed.Palette[(3 * i)..(3 * i + 3)]);
        for (int f = 0; f < 4; f++)
        {
            Assert.Equal(12, parsed.Frames[f].Delay);
            Assert.Equal(expected[f], parsed.Frames[f].Indices);     // grey palette: index = level
        }

        var skia = SkiaDecode(gif);
        Assert.Equal((33, 21), (skia.Width, skia.Height));
        Assert.Equal(-1, skia.Repetitions);                          // SkiaSharp's "infinite"
        Assert.Equal(new[] { 120, 120, 120, 120 }, skia.DurationsMs);
        for (int f = 0; f < 4; f++)
            for (int p = 0; p < 21 * 33; p++)
            {
                var px = skia.Rgba[f][(4 * p)..(4 * p + 4)];
                Assert.True(px[0] == expected[f][p] && px[1] == expected[f][p] && px[2] == expected[f][p] && px[3] == 255,
                    $"frame {f} pixel {p}: skia {string.Join(",", px)} vs {expected[f][p]}");
            }
    }

    [Fact]
    public void GifLzwSurvivesFullTablesAndLongRuns()
    {
        // 160x120 of random levels adds a table entry for nearly every pixel, so the 4096-entry table fills and is
        // cleared several times; the second frame is one value (codes for runs of growing length); the third mixes both.
        TorchRuntime.Seed(4);
        var noise = torch.randint(0, 256, new long[] { 120, 160 }, dtype: torch.uint8);
        var flat = torch.full(new long[] { 120, 160 }, (byte)200, dtype: torch.uint8);
        var mixed = torch.where(torch.rand(120, 160) < 0.97, flat, noise);
        var frames = new[] { noise, flat, mixed };
        var gif = GifEncoder.Encode(frames, 5);
        var parsed = Parse(gif);
        var skia = SkiaDecode(gif);
        for (int f = 0; f < 3; f++)
        {
            var expected = frames[f].contiguous().data<byte>().ToArray();
            Assert.Equal(expected, parsed.Frames[f].Indices);
            var skiaGrey = Enumerable.Range(0, expected.Length).Select(p => skia.Rgba[f][4 * p]).ToArray();
            Assert.Equal(expected, skiaGrey);
        }
        // Runs compress: codes for runs of length 1, 2, 3, ... cover the 19,200 pixels in about 200 codes.
        int flatSize = GifEncoder.Encode(new[] { flat }, 5).Length;
        Assert.True(flatSize < 13 + 768 + 19 + 18 + 400, $"{flatSize} bytes");
    }

    [Fact]
    public void GifColourFramesUseTheNearest676Colour()
    {
        // Random colours, compared with the nearest colour of the 6×7×6 cube found by brute force over all 252.
        TorchRuntime.Seed(5);
        var frame = torch.rand(3, 9, 11);
        var gif = GifEncoder.Encode(new[] { frame }, 3);
        var u8 = ImageGrid.ToUint8(frame).data<byte>().ToArray();   // (3, 9, 11)
        // Nearest level of a channel among L levels 255·k/(L−1) (exact, in doubles), shown as that level rounded half up.
        static byte Nearest(int v, int levels)
        {
            int k = Enumerable.Range(0, levels).MinBy(k => Math.Abs(255.0 * k / (levels - 1) - v));
            return (byte)Math.Round(255.0 * k / (levels - 1), MidpointRounding.AwayFromZero);
        }
        var parsed = Parse(gif);
        var skia = SkiaDecode(gif);
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 11; x++)
            {
                int p = y * 11 + x;
                int R = u8[p], G = u8[99 + p], B = u8[198 + p];
                // The cube is a product of per-channel grids, so its nearest colour is the per-channel nearest level.
                var bestR = Nearest(R, 6);
                var bestG = Nearest(G, 7);
                var bestB = Nearest(B, 6);
                var got = parsed.Colour(0, x, y);
                Assert.Equal((bestR, bestG, bestB), got);
                Assert.Equal((skia.Rgba[0][4 * p], skia.Rgba[0][4 * p + 1], skia.Rgba[0][4 * p + 2]), got);
                Assert.True(Math.Abs(got.R - R) <= 26 && Math.Abs(got.G - G) <= 22 && Math.Abs(got.B - B) <= 26);
            }
        // Pure colours survive exactly.
        var pure = torch.tensor(new float[] { 1, 0, 0, 0, 1, 0, 0, 0, 1 }).reshape(3, 1, 3);
        var p2 = Parse(GifEncoder.Encode(new[] { pure }, 1));
        Assert.Equal(((byte)255, (byte)0, (byte)0), p2.Colour(0, 0, 0));
        Assert.Equal(((byte)0, (byte)255, (byte)0), p2.Colour(0, 1, 0));
        Assert.Equal(((byte)0, (byte)0, (byte)255), p2.Colour(0, 2, 0));
    }

    [Fact]
    public void GifWriteGridsTilesBatchesAndWritesAtomically()
    {
        TorchRuntime.Seed(6);
        var batches = Enumerable.Range(0, 3).Select(_ => torch.rand(5, 1, 4, 6)).ToList();
        var path = Path.Combine(_dir, "sub", "anim.gif");
        GifEncoder.WriteGrids(path, batches, delayCentiseconds: 20, padding: 1, scale: 2);
        var gif = File.ReadAllBytes(path);
        Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(_dir, "sub")), f => f.Contains(".tmp-"));
        var parsed = Parse(gif);
        // ceil(sqrt(5)) = 3 columns, 2 rows of 8x12 tiles with 1 px between: 38 x 17.
        Assert.Equal((38, 17), (parsed.Width, parsed.Height));
        Assert.Equal(3, parsed.Frames.Count);
        for (int f = 0; f < 3; f++)
        {
            var tile = ImageGrid.Tile(batches[f], padding: 1, scale: 2);     // (3, 17, 38) uint8
            Assert.Equal(new long[] { 3, 17, 38 }, tile.shape);
            Assert.Equal(tile[0].contiguous().data<byte>().ToArray(), parsed.Frames[f].Indices);   // grey grids stay exact
            Assert.Equal(20, parsed.Frames[f].Delay);
        }
        // Write with explicit frames gives the same bytes as Encode.
        var frames = batches.Select(b => ImageGrid.Tile(b, padding: 1, scale: 2)).ToList();
        var path2 = Path.Combine(_dir, "frames.gif");
        GifEncoder.Write(path2, frames, 20);
        Assert.Equal(GifEncoder.Encode(frames, 20), File.ReadAllBytes(path2));
        Assert.Equal(gif, File.ReadAllBytes(path2));
    }

    [Fact]
    public void GifRejectsBadInput()
    {
        var a = torch.zeros(4, 4);
        Assert.Contains("same size", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(new[] { a, torch.zeros(4, 5) }, 1)).Message);
        Assert.Contains("C = 1 or 3", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(new[] { torch.zeros(2, 4, 4) }, 1)).Message);
        Assert.Contains("ImageGrid.Tile", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(new[] { torch.zeros(2, 1, 4, 4) }, 1)).Message);
        Assert.Contains("empty", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(Array.Empty<Tensor>(), 1)).Message);
        Assert.Contains("delay", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(new[] { a }, -1)).Message);
        Assert.Contains("loop", Assert.Throws<GenSharpException>(() => GifEncoder.Encode(new[] { a }, 1, 70_000)).Message);
        Assert.Throws<GenSharpException>(() => GifEncoder.Write("", new[] { a }, 1));
    }
}
