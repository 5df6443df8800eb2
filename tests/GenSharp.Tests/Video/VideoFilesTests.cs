using GenSharp.Data;
using GenSharp.Media;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests.Video;

public class VideoFilesTests
{
    static torch.Tensor Clip() => new MovingFashionMnist(TestData.Train, new MovingFashionMnistOptions { Frames = 6, FrameSize = 32 }, 1, 9).Clip(0).Frames;

    [Fact]
    public void GifRoundTripIsExactForGreyClips()
    {
        var clip = Clip();
        var path = Path.Combine(TestData.TempDir(), "clip.gif");
        VideoFiles.Save(path, clip, fps: 10);
        var back = VideoFiles.ReadGrey(path);
        Assert.Equal(clip.shape, back.shape);
        Assert.True(back.eq(clip).all().item<bool>());
    }

    [Fact]
    public void StripHasOneTilePerFrame()
    {
        var path = Path.Combine(TestData.TempDir(), "strip.png");
        VideoFiles.Save(path, new[] { Clip(), Clip() });
        var (w, h, _) = Png.Decode(path);
        // 6 frames of 32 with 2-pixel gaps (and borders), two rows.
        Assert.InRange(w, 6 * 32 + 5 * 2, 6 * 32 + 7 * 2);
        Assert.InRange(h, 2 * 32 + 2, 2 * 32 + 3 * 2);
    }

    [Fact]
    public void Mp4ThroughFfmpegHasTheFramesAndSize()
    {
        if (!VideoFiles.HasFfmpeg()) return;   // .ci/run installs ffmpeg; a machine without it cannot write MP4
        var path = Path.Combine(TestData.TempDir(), "clip.mp4");
        VideoFiles.Save(path, Clip(), fps: 8);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4));
        // ffprobe counts the frames of the stream it decodes.
        var psi = new System.Diagnostics.ProcessStartInfo("ffprobe", $"-v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames,width,height -of csv=p=0 {path}")
        { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var line = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        Assert.Equal("32,32,6", line);
    }

    [Fact]
    public void UnknownExtensionIsRefused()
    {
        var e = Assert.Throws<ParameterException>(() => VideoFiles.Save(Path.Combine(TestData.TempDir(), "x.avi"), Clip()));
        Assert.Contains(".gif", e.Message);
    }
}
