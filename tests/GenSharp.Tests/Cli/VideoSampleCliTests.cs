using GenSharp.Media;
using GenSharp.Training;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests.Cli;

/// <summary><c>gensharp sample</c> on a videodiffusion checkpoint: clips from noise, continued and interpolated; GIF, MP4 and a frame strip.</summary>
public class VideoSampleCliTests
{
    [Fact]
    public void SampleDrawsContinuesAndInterpolatesClips()
    {
        var dir = TestData.TempDir();
        var run = Path.Combine(dir, "vdiff");
        var sets = new[] { "frames=4", "base_channels=8", "channel_mult=[1,2]", "norm_groups=4", "attention_heads=2", "timesteps=50", "sampler_steps=3", "prediction=v" };
        TrainingRun.Run(new TrainRequest { Family = "videodiffusion", OutDir = run, Data = "moving-fashion-mnist:embedded", Steps = 2, BatchSize = 2, Seed = 7, Sets = sets }, TrainingProgress.Silent);

        var gif = Path.Combine(dir, "clip.gif");
        var r = CliTests.Run("sample", run, "--class", "3", "-n", "2", "--out", gif, "--seed", "1");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("2 clips drawn, 4 frames of 32×32", r.Out);
        using (var frames = VideoFiles.ReadGrey(gif))
        {
            Assert.Equal(4, frames.shape[0]);                                          // 4 frames
            Assert.Equal(64, frames.shape[2]);                                         // shown at 2×
            Assert.True(frames.shape[3] >= 128, $"two clips side by side, got width {frames.shape[3]}");
        }

        var one = Path.Combine(dir, "one.gif");
        Assert.Equal(0, CliTests.Run("sample", run, "--out", one, "--seed", "2").Code);
        var cont = Path.Combine(dir, "cont.gif");
        r = CliTests.Run("sample", run, "--continue", one, "--frames", "2", "--out", cont);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("continuation of the first 2 frames", r.Out);
        using (var a = VideoFiles.ReadGrey(one))
        using (var b = VideoFiles.ReadGrey(cont))
        {
            // The kept frames come back (through 2× pooling and GIF quantisation); the drawn ones are new.
            Assert.True((a.narrow(0, 0, 2).to(torch.ScalarType.Float32) - b.narrow(0, 0, 2).to(torch.ScalarType.Float32)).abs().max().item<float>() <= 8);
            Assert.False(a.narrow(0, 2, 2).eq(b.narrow(0, 2, 2)).all().item<bool>());
        }
        var strip = Path.Combine(dir, "interp.png");
        r = CliTests.Run("sample", run, "--interpolate", one, "--out", strip);
        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(strip));

        CliTests.AssertOneLineError(CliTests.Run("sample", run, "--continue", one, "--frames", "4", "--out", cont), 1, "--frames must be in [1, 3]");
        CliTests.AssertOneLineError(CliTests.Run("sample", run, "--class", "10", "--out", gif), 1, "--class must be in [0, 9]");
        CliTests.AssertOneLineError(CliTests.Run("sample", run, "--continue", Path.Combine(dir, "none.gif"), "--out", cont), 1, "no such file");
    }
}
