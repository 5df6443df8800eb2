using System.Diagnostics;
using GenSharp.Checkpoints;
using SkiaSharp;

namespace GenSharp.Media;

/// <summary>
/// Writes and reads short clips: frames (T, C, H, W) with C = 1 or 3, float in [0, 1] or uint8. An animated GIF (our
/// own <see cref="GifEncoder"/>; grey clips are exact), a frame-strip PNG (one row of frames, or one row per clip), or
/// an H.264 MP4 encoded by the system's <c>ffmpeg</c> (Debian package <c>ffmpeg</c>) fed raw frames through a pipe.
/// </summary>
public static class VideoFiles
{
    /// <summary>Writes one clip (T, C, H, W) by the file's extension: .gif, .mp4 or .png (a frame strip).</summary>
    /// <param name="path">Output file.</param>
    /// <param name="clip">(T, C, H, W) frames.</param>
    /// <param name="fps">Frames per second (GIF delays are whole centiseconds).</param>
    /// <param name="scale">Integer enlargement (nearest neighbour) of every frame.</param>
    public static void Save(string path, Tensor clip, double fps = 8, int scale = 1) => Save(path, new[] { clip }, fps, scale);

    /// <summary>
    /// Writes clips side by side (each (T, C, H, W), same shape) by the file's extension: .gif and .mp4 tile the
    /// clips of each frame in one row; .png writes one row of frames per clip.
    /// </summary>
    public static void Save(string path, IReadOnlyList<Tensor> clips, double fps = 8, int scale = 1)
    {
        if (clips.Count == 0) throw new GenSharpException("no clips to write");
        if (!(fps > 0 && fps <= 100)) throw new ParameterException("fps", $"must be in (0, 100], got {fps}");
        foreach (var c in clips)
            if (c.dim() != 4 || (c.shape[1] != 1 && c.shape[1] != 3) || !c.shape.SequenceEqual(clips[0].shape))
                throw new GenSharpException($"clips must all be (T, C, H, W) with C = 1 or 3 and the same shape, got [{string.Join(", ", c.shape)}]");
        ImageFiles.EnsureParent(path);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        using var scope = torch.NewDisposeScope();
        switch (ext)
        {
            case ".png":
                ImageGrid.SaveRows(clips.Select(c => c.cpu()).ToList(), path, padding: 2, scale: scale);
                break;
            case ".gif":
                GifEncoder.Write(path, Frames(clips, scale), (int)Math.Round(100 / fps));
                break;
            case ".mp4":
                WriteMp4(path, Frames(clips, scale), fps);
                break;
            default:
                throw new ParameterException("out", $"must end in .gif, .mp4 or .png (a frame strip), got {Path.GetFileName(path)}");
        }
    }

    /// <summary>Frame t of every clip tiled in one row, for each t: (C, H', W') images.</summary>
    static List<Tensor> Frames(IReadOnlyList<Tensor> clips, int scale)
    {
        long t = clips[0].shape[0];
        var frames = new List<Tensor>((int)t);
        for (long i = 0; i < t; i++)
        {
            var batch = torch.stack(clips.Select(c => c[i].cpu()).ToArray());        // (N, C, H, W)
            frames.Add(clips.Count == 1 && scale == 1 ? batch[0] : ImageGrid.Tile(batch, clips.Count, clips.Count == 1 ? 0 : 2, scale));
        }
        return frames;
    }

    /// <summary>Whether an <c>ffmpeg</c> executable is on the PATH.</summary>
    public static bool HasFfmpeg() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, "ffmpeg")));

    /// <summary>Pipes raw RGB frames to ffmpeg, which writes H.264 (yuv420p, so sides are padded to even).</summary>
    static void WriteMp4(string path, IReadOnlyList<Tensor> frames, double fps)
    {
        if (!HasFfmpeg())
            throw new GenSharpException("writing .mp4 needs ffmpeg on the PATH (Debian: apt-get install ffmpeg); write a .gif instead");
        var first = frames[0].dim() == 2 ? frames[0].unsqueeze(0) : frames[0];
        long h = first.shape[1], w = first.shape[2];
        var tmp = path + ".tmp.mp4";
        var psi = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardInput = true, RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                     "-s", $"{w}x{h}", "-r", fps.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", "-",
                     "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", tmp })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new GenSharpException("could not start ffmpeg");
        var errors = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        using (var stdin = p.StandardInput.BaseStream)
        {
            foreach (var f in frames)
            {
                using var scope = torch.NewDisposeScope();
                var chw = f.dim() == 2 ? f.unsqueeze(0) : f;
                var rgb = ImageGrid.ToUint8(chw).cpu().expand(3, h, w).permute(1, 2, 0).contiguous();   // (H, W, 3)
                stdin.Write(rgb.bytes);
            }
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            File.Delete(tmp);
            throw new GenSharpException($"ffmpeg failed writing {path}: {errors.Result.Trim().Split('\n').FirstOrDefault()}");
        }
        _ = output.Result;
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Reads every frame of an animated GIF as grey (T, 1, H, W) uint8 (the mean of R, G, B).
    /// </summary>
    public static Tensor ReadGrey(string path)
    {
        if (!File.Exists(path)) throw new ParameterException("continue", $"{path}: no such file; give a .gif clip");
        using var data = SKData.Create(path);
        using var codec = SKCodec.Create(data) ?? throw new GenSharpException($"{path} is not an image SkiaSharp can read; give a .gif clip");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        if (codec.EncodedFormat != SKEncodedImageFormat.Gif || codec.FrameCount < 2)
            throw new GenSharpException($"{path} is not an animated GIF; give a .gif clip of two or more frames");
        int count = codec.FrameCount;
        var frames = new List<byte[]>();
        for (int f = 0; f < count; f++)
        {
            using var bitmap = new SKBitmap(info);
            var result = codec.GetPixels(info, bitmap.GetPixels(), new SKCodecOptions(f));
            if (result != SKCodecResult.Success) throw new GenSharpException($"{path}: frame {f} could not be decoded ({result})");
            var rgba = bitmap.GetPixelSpan();
            var grey = new byte[info.Width * info.Height];
            for (int i = 0; i < grey.Length; i++)
                grey[i] = (byte)((rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2] + 1) / 3);
            frames.Add(grey);
        }
        int hgt = info.Height, wid = info.Width;
        var all = frames.SelectMany(f => f).ToArray();
        return torch.tensor(all, new long[] { frames.Count, 1, hgt, wid }, dtype: ScalarType.Byte);
    }
}
