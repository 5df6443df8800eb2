using System.Text;
using GenSharp.Checkpoints;
using GenSharp.Runtime;

namespace GenSharp.Media;

/// <summary>
/// Writes animated GIFs (GIF89a) of image frames, e.g. a diffusion model's samples at every few timesteps.
/// </summary>
/// <remarks>
/// <para>Frames are (H, W) or (C, H, W) tensors with C = 1 (grey) or 3 (RGB), floating point in [0, 1] (clamped,
/// NaN becomes 0) or <c>uint8</c>, all of the same size, on any device. To animate batches, tile each
/// (N, C, H, W) batch into one frame with <see cref="ImageGrid.Tile"/> or call <see cref="WriteGrids"/>.</para>
/// <para>One global 256-entry palette serves all frames. When every frame is grey (C = 1, or R = G = B everywhere,
/// as grids of grey images are) the palette is the 256 grey levels and pixels are exact. Otherwise it is a fixed
/// 6×7×6 colour cube (252 colours: 6 levels of red and blue, 7 of green, to which the eye is most sensitive) and
/// each channel is rounded to its nearest level without dithering, so colour frames are approximate.</para>
/// <para>Each frame is stored whole (no transparency, disposal "leave in place") with the given delay; the
/// NETSCAPE2.0 application extension sets the loop count (0 = loop forever). Image data is LZW-compressed by
/// <see cref="GifLzw"/>.</para>
/// </remarks>
public static class GifEncoder
{
    /// <summary>Levels per channel of the colour cube used for RGB frames.</summary>
    internal const int RedLevels = 6, GreenLevels = 7, BlueLevels = 6;

    /// <summary>Writes <paramref name="frames"/> as an animated GIF to <paramref name="path"/> (replaced atomically).</summary>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="frames">(H, W) or (C, H, W) images with C = 1 or 3, float in [0, 1] or uint8, all the same size.</param>
    /// <param name="delayCentiseconds">Time each frame is shown, in 1/100 s; 0 to 65535 (viewers often treat 0 and 1 as 10).</param>
    /// <param name="loopCount">NETSCAPE2.0 loop count: 0 loops forever, n repeats the animation n more times; 0 to 65535.</param>
    public static void Write(string path, IReadOnlyList<Tensor> frames, int delayCentiseconds, int loopCount = 0)
    {
        AtomicFile.CheckPath(path);
        var gif = Encode(frames, delayCentiseconds, loopCount);
        AtomicFile.WriteAllBytes(path, gif);
    }

    /// <summary>
    /// Writes one frame per batch, each batch tiled as <see cref="ImageGrid.SavePng"/> would lay it out.
    /// </summary>
    /// <param name="path">File to write; its folder is created if missing.</param>
    /// <param name="batches">(N, C, H, W) batches with C = 1 or 3, all giving the same grid size.</param>
    /// <param name="delayCentiseconds">Time each frame is shown, in 1/100 s; 0 to 65535.</param>
    /// <param name="loopCount">0 loops forever; n repeats the animation n more times.</param>
    /// <param name="columns">Tiles per row; default ceil(sqrt(N)).</param>
    /// <param name="padding">Black pixels between neighbouring tiles (after scaling); 0 or more.</param>
    /// <param name="scale">Integer enlargement factor (nearest neighbour); 1 or more.</param>
    public static void WriteGrids(string path, IReadOnlyList<Tensor> batches, int delayCentiseconds, int loopCount = 0,
        int? columns = null, int padding = 2, int scale = 1)
    {
        AtomicFile.CheckPath(path);
        if (batches is null || batches.Count == 0)
            throw new GenSharpException("batches is empty; pass at least one (N, C, H, W) batch");
        using var scope = torch.NewDisposeScope();
        var frames = batches.Select(b => ImageGrid.Tile(b, columns, padding, scale)).ToList();
        Write(path, frames, delayCentiseconds, loopCount);
    }

    /// <summary>Encodes <paramref name="frames"/> as an animated GIF and returns the file's bytes.</summary>
    /// <param name="frames">(H, W) or (C, H, W) images with C = 1 or 3, float in [0, 1] or uint8, all the same size.</param>
    /// <param name="delayCentiseconds">Time each frame is shown, in 1/100 s; 0 to 65535.</param>
    /// <param name="loopCount">0 loops forever; n repeats the animation n more times; 0 to 65535.</param>
    public static byte[] Encode(IReadOnlyList<Tensor> frames, int delayCentiseconds, int loopCount = 0)
    {
        if (frames is null || frames.Count == 0)
            throw new GenSharpException("frames is empty; pass at least one (H, W) or (C, H, W) image");
        if (delayCentiseconds is < 0 or > ushort.MaxValue)
            throw new GenSharpException($"delay must be in [0, 65535] centiseconds, got {delayCentiseconds}");
        if (loopCount is < 0 or > ushort.MaxValue)
            throw new GenSharpException($"loop count must be in [0, 65535] (0 = forever), got {loopCount}");
        TorchRuntime.EnsureReady();

        var pixels = new List<byte[]>(frames.Count);   // each (H, W, 3) RGB, row-major
        int width = 0, height = 0;
        bool grey = true;
        for (int i = 0; i < frames.Count; i++)
        {
            var (rgb, h, w, isGrey) = ToRgb(frames[i], i);
            if (i == 0) (width, height) = (w, h);
            else if (w != width || h != height)
                throw new GenSharpException($"frames[{i}] is {w}x{h} but frames[0] is {width}x{height}; give every frame the same size");
            grey &= isGrey;
            pixels.Add(rgb);
        }

        using var ms = new MemoryStream();
        WriteHeader(ms, width, height, grey, loopCount);
        var indices = new byte[width * height];
        foreach (var rgb in pixels)
        {
            Quantize(rgb, indices, grey);
            WriteFrame(ms, width, height, delayCentiseconds, indices);
        }
        ms.WriteByte(0x3B);   // trailer
        return ms.ToArray();
    }

    /// <summary>The frame as CPU RGB bytes (H·W·3), its size, and whether R = G = B at every pixel.</summary>
    static (byte[] Rgb, int Height, int Width, bool Grey) ToRgb(Tensor? frame, int i)
    {
        if (frame is null) throw new GenSharpException($"frames[{i}] is null; pass an (H, W) or (C, H, W) tensor");
        using var scope = torch.NewDisposeScope();
        var t = frame.dim() == 2 ? frame.unsqueeze(0) : frame;
        if (t.dim() != 3 || (t.shape[0] != 1 && t.shape[0] != 3))
            throw new GenSharpException(
                $"frames[{i}] has shape [{string.Join(", ", frame.shape)}]; pass (H, W) or (C, H, W) with C = 1 or 3 (tile batches with ImageGrid.Tile)");
        long h = t.shape[1], w = t.shape[2];
        if (h < 1 || w < 1 || h > ushort.MaxValue || w > ushort.MaxValue)
            throw new GenSharpException($"frames[{i}] is {w}x{h}; a GIF frame must be 1 to 65535 pixels on each side");
        var u8 = ImageGrid.ToUint8(t).cpu().expand(3, h, w).permute(1, 2, 0).contiguous();   // (H, W, 3)
        var rgb = u8.bytes.ToArray();
        bool grey = true;
        for (int p = 0; p < rgb.Length && grey; p += 3)
            grey = rgb[p] == rgb[p + 1] && rgb[p] == rgb[p + 2];
        return (rgb, (int)h, (int)w, grey);
    }

    /// <summary>Palette index of each pixel: the grey level itself, or the nearest colour-cube entry.</summary>
    static void Quantize(byte[] rgb, byte[] indices, bool grey)
    {
        for (int p = 0, q = 0; q < indices.Length; p += 3, q++)
        {
            indices[q] = grey
                ? rgb[p]
                : (byte)((Level(rgb[p], RedLevels) * GreenLevels + Level(rgb[p + 1], GreenLevels)) * BlueLevels
                         + Level(rgb[p + 2], BlueLevels));
        }
    }

    /// <summary>Nearest of <paramref name="levels"/> evenly spaced levels 0..255 (round half up).</summary>
    static int Level(byte v, int levels) => (v * (levels - 1) * 2 + 255) / 510;

    /// <summary>The 256 palette entries as RGB triples.</summary>
    internal static byte[] Palette(bool grey)
    {
        var palette = new byte[256 * 3];
        if (grey)
        {
            for (int i = 0; i < 256; i++) palette[3 * i] = palette[3 * i + 1] = palette[3 * i + 2] = (byte)i;
            return palette;
        }
        static byte Value(int level, int levels) => (byte)((level * 510 / (levels - 1) + 1) / 2);   // round(255·level/(levels−1))
        for (int r = 0; r < RedLevels; r++)
        for (int g = 0; g < GreenLevels; g++)
        for (int b = 0; b < BlueLevels; b++)
        {
            int i = (r * GreenLevels + g) * BlueLevels + b;
            palette[3 * i] = Value(r, RedLevels);
            palette[3 * i + 1] = Value(g, GreenLevels);
            palette[3 * i + 2] = Value(b, BlueLevels);
        }
        return palette;   // entries 252..255 stay black and unused
    }

    static void WriteHeader(Stream s, int width, int height, bool grey, int loopCount)
    {
        s.Write(Encoding.ASCII.GetBytes("GIF89a"));
        // Logical screen descriptor: size, then global colour table present (0x80), 8 bits of colour
        // resolution (0x70), 2^(7+1) = 256 entries (0x07); background index 0; square pixels.
        WriteUInt16(s, width);
        WriteUInt16(s, height);
        s.WriteByte(0xF7);
        s.WriteByte(0);
        s.WriteByte(0);
        s.Write(Palette(grey));
        // NETSCAPE2.0 application extension: sub-block id 1, then the loop count.
        s.WriteByte(0x21);
        s.WriteByte(0xFF);
        s.WriteByte(11);
        s.Write(Encoding.ASCII.GetBytes("NETSCAPE2.0"));
        s.WriteByte(3);
        s.WriteByte(1);
        WriteUInt16(s, loopCount);
        s.WriteByte(0);
    }

    static void WriteFrame(Stream s, int width, int height, int delay, byte[] indices)
    {
        // Graphic control extension: disposal 1 "do not dispose" (bits 2-4), no transparency; delay; no transparent index.
        s.WriteByte(0x21);
        s.WriteByte(0xF9);
        s.WriteByte(4);
        s.WriteByte(1 << 2);
        WriteUInt16(s, delay);
        s.WriteByte(0);
        s.WriteByte(0);
        // Image descriptor: the whole screen, no local colour table, not interlaced.
        s.WriteByte(0x2C);
        WriteUInt16(s, 0);
        WriteUInt16(s, 0);
        WriteUInt16(s, width);
        WriteUInt16(s, height);
        s.WriteByte(0);
        GifLzw.Write(s, indices, minCodeSize: 8);
    }

    static void WriteUInt16(Stream s, int value)
    {
        s.WriteByte((byte)(value & 0xFF));
        s.WriteByte((byte)(value >> 8));
    }
}
