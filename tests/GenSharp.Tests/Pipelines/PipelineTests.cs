using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models.Vae;
using GenSharp.Pipelines;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Pipelines;

/// <summary>
/// The pipelines called directly, as the server will call them: data in, data out, checked against the model's own
/// math computed here by hand.
/// </summary>
public class PipelineTests
{
    static VaeModel TinyVae()
    {
        TorchRuntime.Seed(5);
        return new VaeModel(new VaeConfig { LatentDim = 4, Channels = 4, Hidden = 16 }, torch.CPU);
    }

    [Fact]
    public void ImageSamplingDrawsTheDecoderMeansOfSeededPriorDraws()
    {
        using var model = TinyVae();
        using var samples = ImageSampling.Run(model, new ImageSamplingOptions { Count = 6, Seed = 3 });
        Assert.Equal(new long[] { 6, 1, 28, 28 }, samples.Images.shape);
        Assert.Equal(3, samples.Columns);                      // ⌈√6⌉

        // Independently: z ~ N(0, I) from torch's generator seeded with the same seed, x = sigmoid(decoder(z)).
        torch.manual_seed(3);
        using (torch.no_grad())
        {
            model.Network.eval();
            using var z = torch.randn(6, 4);
            using var expected = torch.sigmoid(model.Network.DecodeLogits(z));
            Assert.True(torch.allclose(expected, samples.Images, rtol: 0, atol: 1e-6));
        }

        using var again = ImageSampling.Run(model, new ImageSamplingOptions { Count = 6, Seed = 3 });
        Assert.True(torch.allclose(samples.Images, again.Images, rtol: 0, atol: 0));
        using var other = ImageSampling.Run(model, new ImageSamplingOptions { Count = 6, Seed = 4 });
        Assert.False(torch.allclose(samples.Images, other.Images, rtol: 0, atol: 0));

        var e = Assert.Throws<ParameterException>(() => ImageSampling.Run(model, new ImageSamplingOptions { Count = 0 }));
        Assert.Equal("count", e.Parameter);
    }

    [Fact]
    public void ScoringGivesEachImageItsNegativeLogLikelihoodInOrder()
    {
        using var model = TinyVae();
        using var data = TestData.Test.Take(300);             // more than one batch of 256
        var scores = Scoring.Run(model, data, seed: 7);
        Assert.Equal(300, scores.Length);
        Assert.All(scores, s => Assert.True(double.IsFinite(s) && s > 0));

        // The same per-image values, batch by batch in a different split, with the same seed.
        torch.manual_seed(7);
        var first = model.NegativeLogLikelihood(data.Images.narrow(0, 0, 256)).to(ScalarType.Float64).data<double>().ToArray();
        var rest = model.NegativeLogLikelihood(data.Images.narrow(0, 256, 44)).to(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(first.Concat(rest).ToArray(), scores);

        // AUROC of a score that is the label itself is 1 for the largest class against the rest.
        var byLabel = data.Labels.data<long>().Select(l => (double)l).ToArray();
        Assert.Equal(1.0, Scoring.AnomalyAuroc(byLabel, data, 9), 12);
        Assert.Equal("anomaly_class", Assert.Throws<ParameterException>(() => Scoring.AnomalyAuroc(scores, data, 10)).Parameter);
    }

    [Fact]
    public void LatentCodingRoundTripsThroughQuantisedCodes()
    {
        using var model = TinyVae();
        using var data = TestData.Test.Take(20);
        var codes = LatentCoding.Encode(model, data, bits: 8);
        Assert.Equal(20, codes.Count);
        using var decoded = LatentCoding.Decode(model, codes);
        Assert.Equal(new long[] { 20, 1, 28, 28 }, decoded.shape);

        // 8-bit codes of the prior's quantiles land near the posterior means: decoding them is close to decoding μ.
        using var mu = model.Encode(data.Images);
        using var direct = model.Decode(mu);
        Assert.True((decoded.cpu() - direct.cpu()).abs().max().item<float>() < 0.05f);

        // Mean PSNR against an independent computation: 10·log10(1 / MSE) per image, averaged.
        var x = data.Images.to(ScalarType.Float32) / 255.0;
        var mse = (decoded.cpu() - x).pow(2).mean(new long[] { 1, 2, 3 });
        double expected = (10.0 * torch.log10(1.0 / mse)).mean().item<float>();
        Assert.Equal(expected, LatentCoding.MeanPsnr(data, decoded), 3);
    }
}
