using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Flows;

/// <summary>Likelihood bookkeeping shared by the flows.</summary>
public static class FlowMath
{
    static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>log N(z; 0, I) summed over all but the batch dimension: (B).</summary>
    public static Tensor StandardNormalLogProb(Tensor z) =>
        (z.square() * -0.5 - HalfLog2Pi).flatten(1).sum(1);

    /// <summary>log N(z; μ, exp(logσ)²) summed over all but the batch dimension: (B).</summary>
    public static Tensor GaussianLogProb(Tensor z, Tensor mean, Tensor logStd) =>
        (((z - mean) * torch.exp(-logStd)).square() * -0.5 - logStd - HalfLog2Pi).flatten(1).sum(1);

    /// <summary>
    /// Negative log-likelihood in nats of 8-bit images from the density of their dequantized copy
    /// y = (x + u)/256, u ~ U[0,1)^D, a density on [0,1)^D: −log P(x) ≤ −log p(y) + D·log 256
    /// (in expectation over u; Theis et al. 2016). <paramref name="logDensity"/> is log p(y) per item.
    /// </summary>
    public static Tensor DiscreteNll(Tensor logDensity, long dims) => -logDensity + dims * Math.Log(256);

    /// <summary>Nats per image to bits per dimension: nats / (D · ln 2).</summary>
    public static double BitsPerDim(double nats, long dims) => nats / (dims * Math.Log(2));

    /// <summary>
    /// The training loss of a flow on raw uint8 <paramref name="images"/>: dequantized to y in [0, 1), the mean of
    /// <paramref name="discreteNll"/>(y) over the batch, logged as loss and bpd. Returns the loss and y.
    /// </summary>
    public static (Tensor Loss, Tensor Y) TrainingLoss(Tensor images, Func<Tensor, Tensor> discreteNll, long dims, StepContext ctx)
    {
        var y = ImageTransforms.Dequantize(images);                             // (B, C, H, W) in [0, 1)
        var loss = discreteNll(y).mean();
        ctx.Log("loss", loss);
        ctx.Log("bpd", BitsPerDim(loss, dims));
        return (loss, y);
    }

    /// <summary><see cref="BitsPerDim(double, long)"/> of a scalar loss tensor, in float64 (detached).</summary>
    public static Tensor BitsPerDim(Tensor nats, long dims) => nats.detach().to(ScalarType.Float64) / (dims * Math.Log(2));
}
