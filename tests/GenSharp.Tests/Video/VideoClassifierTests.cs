using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Video;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Video;

public class VideoClassifierTests
{
    static VideoClassifierConfig Tiny => new() { Frames = 4, FrameSize = 32, Channels = 4, FeatureDim = 16 };

    [Fact]
    public void HeadsAndFeaturesHaveTheirShapes()
    {
        torch.manual_seed(1);
        using var model = new VideoClassifierModel(Tiny, CPU);
        var (c, d, f) = model.Classify(rand(new long[] { 3, 4, 1, 32, 32 }));
        Assert.Equal(new long[] { 3, 10 }, c.shape);
        Assert.Equal(new long[] { 3, 4 }, d.shape);
        Assert.Equal(new long[] { 3, 16 }, f.shape);
        Assert.Throws<GenSharpException>(() => model.Classify(rand(new long[] { 3, 5, 1, 32, 32 })));
    }

    [Fact]
    public void OneOptimiserStepLowersTheLossOnItsBatch()
    {
        torch.manual_seed(2);
        using var model = new VideoClassifierModel(Tiny, CPU);
        var clips = randint(0, 256, new long[] { 8, 4, 1, 32, 32 }).to(ScalarType.Byte);
        var targets = stack(new[] { randint(0, 10, new long[] { 8 }), randint(0, 4, new long[] { 8 }) }, 1);   // (8, 2)
        var opt = optim.Adam(model.Network.parameters(), 1e-2);
        model.Network.train();
        var before = model.Loss(clips, targets);
        opt.zero_grad();
        before.backward();
        opt.step();
        var after = model.Loss(clips, targets);
        Assert.True(after.item<float>() < before.item<float>(), $"{after.item<float>()} !< {before.item<float>()}");
        // Independent: the loss is the class cross-entropy plus the direction cross-entropy.
        using (no_grad())
        {
            var (c, d, _) = model.Network.Forward(clips.to(ScalarType.Float32) / 255);
            var expected = -c.log_softmax(1).gather(1, targets[.., 0].unsqueeze(1)).mean() - d.log_softmax(1).gather(1, targets[.., 1].unsqueeze(1)).mean();
            Assert.Equal(expected.item<float>(), model.Loss(clips, targets).item<float>(), 4);
        }
    }

    [Fact]
    public void BatchesCarryClassAndDirection()
    {
        var clips = MovingFashionMnist.Load("embedded", train: true, new MovingFashionMnistOptions { Frames = 4, FrameSize = 32 }, 3, 5);
        var (x, y) = new ClassAndMotionClips(clips).GetBatch(2);
        Assert.Equal(new long[] { 3, 4, 1, 32, 32 }, x.shape);
        Assert.Equal(new long[] { 3, 2 }, y.shape);
        var (_, infos) = clips.Clips(6, 3);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(infos[i].Classes[0], y[i, 0].item<long>());
            Assert.Equal(MovingFashionMnist.Quadrant(infos[i].Velocities[0]), y[i, 1].item<long>());
        }
    }

    [Fact]
    public void TrainsThroughTheTrainerAndLoadsBack()
    {
        var dir = TestData.TempDir();
        var r = TrainingRun.Run(new TrainRequest
        {
            Family = "videoclassifier", OutDir = dir, Data = "moving-fashion-mnist:embedded", Steps = 2, BatchSize = 4, Seed = 3,
            Sets = new[] { "frames=4", "channels=4", "feature_dim=16" },
        }, TrainingProgress.Silent);
        Assert.Equal(2, r.Step);
        using var loaded = Checkpoint.LoadModel(dir, CPU);
        var vc = Assert.IsAssignableFrom<IVideoClassifier>(loaded.Model);
        Assert.Equal(16, vc.FeatureDim);
        Assert.Equal(4, vc.Directions);
    }
}
