using GenSharp.Evaluation;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Evaluation;

public class FramePredictionTests
{
    static Tensor Clips(int seed) => rand(new long[] { 3, 6, 1, 16, 16 }, generator: new Generator((ulong)seed));

    [Fact]
    public void ThePerfectPredictionScoresZeroAndOne()
    {
        var truth = Clips(1);
        var s = FramePrediction.Score(truth.clone(), truth, 2);
        Assert.Equal(0, s.Mse, 12);
        Assert.Equal(1, s.Ssim, 12);
        Assert.Equal(0, s.CentroidError, 9);
        Assert.Equal(4, s.MseByFrame.Length);
    }

    [Fact]
    public void CopyLastAndItsScoreMatchALoop()
    {
        var truth = Clips(2);
        int k = 2;
        var copy = FramePrediction.CopyLast(truth, k);
        var s = FramePrediction.Score(copy, truth, k);
        // Independently: frame f ≥ k of the baseline is frame k−1; error = Σ pixels (a − b)², mean over clips and frames.
        var t = truth.to(ScalarType.Float64).data<double>().ToArray();
        int frames = 6, px = 256;
        double total = 0;
        var perFrame = new double[frames - k];
        for (int n = 0; n < 3; n++)
            for (int f = k; f < frames; f++)
            {
                double e = 0;
                for (int p = 0; p < px; p++)
                {
                    double a = t[(n * frames + k - 1) * px + p], b = t[(n * frames + f) * px + p];
                    e += (a - b) * (a - b);
                }
                total += e;
                perFrame[f - k] += e / 3;
            }
        Assert.Equal(total / (3 * (frames - k)), s.Mse, 4);
        Assert.Equal(total / (3 * (frames - k)) / px, s.MsePerPixel, 7);
        for (int f = 0; f < frames - k; f++) Assert.Equal(perFrame[f], s.MseByFrame[f], 4);
        Assert.True(copy.narrow(1, 0, k).eq(truth.narrow(1, 0, k)).all().item<bool>());
        Assert.True(copy[.., 5].eq(truth[.., 1]).all().item<bool>());
        // SSIM of each baseline frame is that of the frame pair, the known frames play no part.
        var expected = Ssim.Compute(truth[.., 1], truth[.., 4]).mean().item<double>();
        Assert.Equal(expected, s.SsimByFrame[2], 10);
        Assert.Throws<ParameterException>(() => FramePrediction.CopyLast(truth, 6));
    }

    [Fact]
    public void BlankFramesScoreTheFutureFramesEnergy()
    {
        var truth = Clips(2);
        int k = 3;
        var blank = FramePrediction.Blank(truth, k);
        Assert.True(blank.narrow(1, 0, k).eq(truth.narrow(1, 0, k)).all().item<bool>());
        Assert.Equal(0.0, blank.narrow(1, k, 3).abs().sum().item<float>());
        // Against black frames the error of a frame is the sum of its squared pixels.
        var t = truth.to(ScalarType.Float64).data<double>().ToArray();
        double total = 0;
        for (int n = 0; n < 3; n++)
            for (int f = k; f < 6; f++)
                for (int p = 0; p < 256; p++) total += t[(n * 6 + f) * 256 + p] * t[(n * 6 + f) * 256 + p];
        Assert.Equal(total / (3 * 3), FramePrediction.Score(blank, truth, k).Mse, 4);
        Assert.Throws<ParameterException>(() => FramePrediction.Blank(truth, 0));
    }

    [Fact]
    public void CropsFindAGarmentOnTheCanvas()
    {
        // A 28×28 block with a bright centre pixel at (x 30, y 20) of a black 64×64 canvas: the crop is the block.
        var garment = rand(new long[] { 28, 28 }, generator: new Generator(3)) * 0.1;
        garment[13, 13] = tensor(1.0f);
        var canvas = zeros(1, 1, 64, 64);
        canvas[0, 0, TensorIndex.Slice(7, 35), TensorIndex.Slice(17, 45)] = garment;   // centroid ≈ (30.5, 20.5)
        var crop = GarmentCrops.Crop(canvas);
        Assert.Equal(new long[] { 1, 1, 28, 28 }, crop.shape);
        var c = GarmentCrops.Centroids(canvas);
        Assert.InRange(c[0, 0].item<double>(), 29.5, 31.5);
        Assert.InRange(c[0, 1].item<double>(), 19.5, 21.5);
        Assert.True(crop[0, 0].eq(garment).all().item<bool>());
        // A garment in the corner: the crop is clamped inside the canvas.
        var corner = zeros(1, 1, 64, 64);
        corner[0, 0, TensorIndex.Slice(0, 5), TensorIndex.Slice(0, 5)] = ones(5, 5);
        Assert.Equal(25.0, GarmentCrops.Crop(corner).sum().item<float>(), 4);
        // 32×32 frames are enlarged to the canvas first.
        Assert.Equal(new long[] { 2, 1, 28, 28 }, GarmentCrops.Crop(rand(2, 1, 32, 32)).shape);
    }

    [Fact]
    public void TemporalConsistencyCountsFramesOfTheModalClass()
    {
        var labels = tensor(new long[,] { { 3, 3, 3, 3 }, { 1, 2, 1, 1 }, { 0, 1, 2, 2 } });
        Assert.Equal((4 + 3 + 2) / 12.0, TemporalConsistency.Agreement(labels), 12);
        Assert.Equal(1 / 3.0, TemporalConsistency.AllAgree(labels), 12);
    }
}
