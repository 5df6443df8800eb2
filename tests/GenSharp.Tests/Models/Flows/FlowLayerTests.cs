using GenSharp.Models.Flows;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class FlowLayerTests
{
    [Fact]
    public void SqueezeIsAPermutationWithTheDocumentedLayout()
    {
        TorchRuntime.EnsureReady();
        using var x = torch.arange(2 * 3 * 4 * 6, dtype: ScalarType.Float64).reshape(2, 3, 4, 6);
        using var sq = new Squeeze();
        var (y, logDet) = sq.Forward(x);
        Assert.Equal(new long[] { 2, 12, 2, 3 }, y.shape);
        Assert.Equal(0.0, logDet.abs().max().item<double>());
        // Channel 4c + 2i + j at (h, w) is input channel c at (2h + i, 2w + j).
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                    for (int h = 0; h < 2; h++)
                        for (int w = 0; w < 3; w++)
                            Assert.Equal(x[1, c, 2 * h + i, 2 * w + j].item<double>(), y[1, 4 * c + 2 * i + j, h, w].item<double>());
        FlowAssert.InvertsExactly(sq, x, 0);
        FlowAssert.LogDetMatchesJacobian(sq, torch.randn(1, 1, 2, 4, dtype: ScalarType.Float64));
    }

    [Fact]
    public void DiscreteNllAndBitsPerDimByHand()
    {
        TorchRuntime.EnsureReady();
        // log p(y) = −500 nats on D = 784 dims: NLL = 500 + 784·ln 256 = 4847.3... nats.
        using var logp = torch.tensor(new[] { -500.0 });
        double nll = FlowMath.DiscreteNll(logp, 784).item<double>();
        Assert.Equal(500 + 784 * 5.545177444479562, nll, 9);
        // bits/dim = nats / (D ln 2): 4847.417... / (784 · 0.693147...) = 8 + 500/(784 ln 2).
        Assert.Equal(8 + 500 / (784 * 0.6931471805599453), FlowMath.BitsPerDim(nll, 784), 12);
    }

    [Fact]
    public void GaussianLogProbMatchesFormula()
    {
        TorchRuntime.EnsureReady();
        using var z = torch.tensor(new[] { 0.3, -1.2 }).reshape(1, 2);
        using var m = torch.tensor(new[] { 0.1, 0.5 }).reshape(1, 2);
        using var ls = torch.tensor(new[] { -0.4, 0.7 }).reshape(1, 2);
        double expected = 0;
        double[] zs = { 0.3, -1.2 }, ms = { 0.1, 0.5 }, lss = { -0.4, 0.7 };
        for (int i = 0; i < 2; i++)
        {
            double s = Math.Exp(lss[i]);
            expected += Math.Log(1 / (s * Math.Sqrt(2 * Math.PI)) * Math.Exp(-0.5 * Math.Pow((zs[i] - ms[i]) / s, 2)));
        }
        Assert.Equal(expected, FlowMath.GaussianLogProb(z, m, ls).item<double>(), 12);
        Assert.Equal(-Math.Log(2 * Math.PI) - 0.5 * (0.09 + 1.44), FlowMath.StandardNormalLogProb(z).item<double>(), 12);
    }
}
