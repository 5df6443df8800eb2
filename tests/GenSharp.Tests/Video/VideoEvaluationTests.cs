using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models.Classifier;
using GenSharp.Models.Video;
using GenSharp.Pipelines;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Video;

public class VideoEvaluationTests
{
    static MovingFashionMnist Test => MovingFashionMnist.Load("embedded", train: false, new MovingFashionMnistOptions { Frames = 4, FrameSize = 32 }, 1, 0);

    [Fact]
    public void APredictorThatReturnsTheTruthScoresPerfectly()
    {
        var (truth, classes, directions) = VideoEvaluation.RealClips(Test, 0, 5);
        var seen = new List<Tensor>();
        // The "model" looks up the truth by clip index: it must be handed only the known frames.
        var (r, predicted) = VideoEvaluation.Prediction((given, labels, first) =>
        {
            seen.Add(given.clone().DetachFromDisposeScope());
            return truth.narrow(0, first, given.shape[0]).clone();
        }, truth, classes, directions, known: 2, batchSize: 2, video: null);
        Assert.Equal(3, seen.Count);
        Assert.True(seen.All(g => g.narrow(1, 2, 2).eq(0).all().item<bool>()));        // no future frame leaks in
        Assert.True(cat(seen, 0).narrow(1, 0, 2).eq(truth.narrow(1, 0, 2)).all().item<bool>());
        Assert.Equal(0, r["pred_mse"], 12);
        Assert.Equal(1, r["pred_ssim"], 12);
        Assert.True(predicted.eq(truth).all().item<bool>());
        // The baseline: frame 1 repeated, scored by an independent sum.
        var expected = (truth[.., 1] - truth[.., 2]).square().sum().item<float>() + (truth[.., 1] - truth[.., 3]).square().sum().item<float>();
        Assert.Equal(expected / 10, r["copy_last_mse"], 3);
        Assert.True(r["copy_last_mse"] > 1);
        Assert.Equal((Ssim.Compute(truth[.., 1], truth[.., 2]).sum() + Ssim.Compute(truth[.., 1], truth[.., 3]).sum()).item<double>() / 10, r["copy_last_ssim"], 10);
    }

    [Fact]
    public void RealClipsAgainstThemselvesAreAtDistanceZero()
    {
        torch.manual_seed(4);
        var (clips, classes, _) = VideoEvaluation.RealClips(Test, 0, 12);
        using var vc = new VideoClassifierModel(new VideoClassifierConfig { Frames = 4, Channels = 4, FeatureDim = 8 }, CPU);
        using var fc = new ClassifierModel(new ClassifierConfig { Channels = 4, FeatureDim = 8 }, CPU);
        var same = VideoEvaluation.ScoreClips(clips, classes, clips, clips, vc, fc, 5);
        Assert.Equal(0, same["fvd_cls"], 9);
        Assert.Equal(0, same["fd_cls_frames"], 9);
        Assert.Equal(same["real_consistency"], same["consistency"], 12);
        Assert.Equal(same["real_speed_px"], same["gen_speed_px"], 12);
        Assert.InRange(same["real_speed_px"], 2.5, 3.5);                                   // speed 3 canvas px per frame
        // Black clips are far away and stand still.
        var black = zeros_like(clips);
        var far = VideoEvaluation.ScoreClips(black, classes, clips, clips, vc, fc, 5);
        Assert.True(far["fvd_cls"] > 1e-5 && far["fd_cls_frames"] > 1e-5, $"{far["fvd_cls"]} {far["fd_cls_frames"]}");
        Assert.Equal(0, far["gen_speed_px"], 9);
        Assert.Equal(1, far["consistency"], 12);
    }

    [Fact]
    public void DrawAsksTheClassesEvenly()
    {
        var asked = new List<long>();
        var (clips, labels, _) = VideoEvaluation.Draw((l, first) => { asked.AddRange(l); return zeros(new long[] { l.Length, 4, 1, 32, 32 }); }, 20, 10, 6);
        Assert.Equal(new long[] { 20, 4, 1, 32, 32 }, clips.shape);
        Assert.Equal(labels, asked.ToArray());
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(2, labels.Count(l => l == c)));
    }
}
