using GenSharp.Data;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests.Video;

public class MovingFashionMnistTests
{
    static MovingFashionMnist Make(bool train, long seed = 7, int size = 64, int garments = 1, int frames = 16) =>
        new(train ? TestData.Train : TestData.Test, new MovingFashionMnistOptions { FrameSize = size, Garments = garments, Frames = frames }, 4, seed);

    [Fact]
    public void SameSeedSameClipsOtherSeedOtherClips()
    {
        var a = Make(true, 3);
        var b = Make(true, 3);
        var c = Make(true, 4);
        var (x1, y1) = a.GetBatch(5);
        var (x2, y2) = b.GetBatch(5);
        var (x3, _) = c.GetBatch(5);
        Assert.Equal(new long[] { 4, 16, 1, 64, 64 }, x1.shape);
        Assert.True(x1.eq(x2).all().item<bool>());
        Assert.True(y1.eq(y2).all().item<bool>());
        Assert.False(x1.eq(x3).all().item<bool>());
        // The batch of step 5 holds clips 20..23.
        var (clip21, info) = a.Clip(21);
        Assert.True(clip21.eq(x1[1]).all().item<bool>());
        Assert.Equal(info.Classes[0], y1[1].item<long>());
    }

    [Fact]
    public void TrajectoryMatchesTheFoldedStraightLine()
    {
        // An elastic bounce between walls 0 and L is a straight line u = p0 + t·v folded by the triangle wave of period 2L.
        const double limit = 36;
        static double Fold(double u, double l)
        {
            double m = ((u % (2 * l)) + 2 * l) % (2 * l);
            return m <= l ? m : 2 * l - m;
        }
        var start = (3.5, 30.25);
        var v = (-2.9, 2.2);
        var (positions, velocities) = MovingFashionMnist.Trajectory(start, v, limit, 60);
        for (int t = 0; t < 60; t++)
        {
            Assert.Equal(Fold(start.Item1 + t * v.Item1, limit), positions[t].X, 9);
            Assert.Equal(Fold(start.Item2 + t * v.Item2, limit), positions[t].Y, 9);
            Assert.InRange(positions[t].X, 0, limit);
            Assert.Equal(Math.Abs(v.Item1), Math.Abs(velocities[t].X), 12);   // speed per axis is kept
            Assert.Equal(Math.Abs(v.Item2), Math.Abs(velocities[t].Y), 12);
        }
        Assert.Contains(velocities, q => q.X > 0);   // it did bounce off the left wall
        Assert.Contains(velocities, q => q.Y < 0);   // and off the bottom one
    }

    [Fact]
    public void FramesShowTheRecordedGarmentAtTheRecordedPlace()
    {
        var gen = Make(true, 11);
        var train = TestData.Train.Images;
        for (long i = 0; i < 5; i++)
        {
            var (clip, info) = gen.Clip(i);
            Assert.Equal((int)TestData.Train.Labels[info.ImageIndices[0]].item<long>(), info.Classes[0]);
            Assert.Equal(MovingFashionMnist.Quadrant(info.Velocities[0]), info.Direction);
            for (int t = 0; t < 16; t += 5)
            {
                int x = (int)Math.Round(info.Positions[0][t].X), y = (int)Math.Round(info.Positions[0][t].Y);
                var crop = clip[t, 0].narrow(0, y, 28).narrow(1, x, 28);
                Assert.True(crop.eq(train[info.ImageIndices[0], 0]).all().item<bool>());
                // Nothing else is drawn: the frame's ink equals the garment's ink.
                Assert.Equal(train[info.ImageIndices[0]].to(torch.ScalarType.Int64).sum().item<long>(), clip[t].to(torch.ScalarType.Int64).sum().item<long>());
            }
        }
    }

    [Fact]
    public void TwoGarmentsCombineByMaximum()
    {
        var gen = Make(true, 2, garments: 2);
        var (clip, info) = gen.Clip(0);
        Assert.Equal(2, info.Classes.Length);
        var canvas = torch.zeros(64, 64, dtype: torch.ScalarType.Byte);
        for (int g = 0; g < 2; g++)
        {
            int x = (int)Math.Round(info.Positions[g][0].X), y = (int)Math.Round(info.Positions[g][0].Y);
            var region = canvas.narrow(0, y, 28).narrow(1, x, 28);
            region.copy_(torch.maximum(region, TestData.Train.Images[info.ImageIndices[g], 0]));
        }
        Assert.True(canvas.eq(clip[0, 0]).all().item<bool>());
    }

    [Fact]
    public void ThirtyTwoPixelFramesAreTheBlockMeansOfTheSixtyFourPixelClip()
    {
        var big = Make(true, 5, 64).Clip(3).Frames.to(torch.ScalarType.Float32);
        var small = Make(true, 5, 32).Clip(3).Frames;
        Assert.Equal(new long[] { 16, 1, 32, 32 }, small.shape);
        var expected = (torch.nn.functional.avg_pool2d(big, 2) + 0.5).floor().to(torch.ScalarType.Byte);
        Assert.True(expected.eq(small).all().item<bool>());
    }

    [Fact]
    public void EvaluationClipsUseOnlyTestImages()
    {
        var test = Make(false, 1);
        var trainSet = TestData.Train.Images.reshape(-1, 784).to(torch.ScalarType.Int32);
        for (long i = 0; i < 4; i++)
        {
            var (clip, info) = test.Clip(i);
            int x = (int)Math.Round(info.Positions[0][0].X), y = (int)Math.Round(info.Positions[0][0].Y);
            var crop = clip[0, 0].narrow(0, y, 28).narrow(1, x, 28).reshape(1, 784).to(torch.ScalarType.Int32);
            Assert.True(crop.eq(TestData.Test.Images[info.ImageIndices[0], 0].reshape(1, 784).to(torch.ScalarType.Int32)).all().item<bool>());
            // No training image is this garment.
            Assert.False((trainSet - crop).abs().sum(1).eq(0).any().item<bool>());
        }
    }

    [Fact]
    public void BadOptionsGiveOneLineErrors()
    {
        var e = Assert.Throws<ParameterException>(() => Make(true, size: 48));
        Assert.Contains("frame_size", e.Message);
        Assert.Throws<ParameterException>(() => Make(true, garments: 3));
        Assert.Null(MovingFashionMnist.ImageSource("moving-fashion-mnist"));
        Assert.Equal("embedded", MovingFashionMnist.ImageSource("moving-fashion-mnist:embedded"));
    }
}
