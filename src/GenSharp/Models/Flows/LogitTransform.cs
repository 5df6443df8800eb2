namespace GenSharp.Models.Flows;

/// <summary>
/// RealNVP's preprocessing (Dinh et al. 2017, §4.1): maps x ∈ [0,1) to logit space,
/// y = logit(s) with s = α + (1 − 2α)·x, so the flow models an unbounded variable. Its log-determinant,
/// Σ [log(1 − 2α) − log s − log(1 − s)], is part of the likelihood of x. α keeps s away from 0 and 1:
/// with α = 0.05 (the paper's value) y stays in [−2.94, 2.94] even for the many exactly-black pixels of
/// Fashion-MNIST, whose dequantized values lie in [0, 1/256); α = 1e-6 would let y reach −13.8 and
/// give the flow a heavy tail to model for no gain (the log-det term accounts for α exactly either way).
/// </summary>
public sealed class LogitTransform : FlowLayer
{
    readonly double _alpha;

    /// <param name="alpha">Squeeze toward 0.5, in [0, 0.5).</param>
    public LogitTransform(double alpha) : base(nameof(LogitTransform))
    {
        if (!(alpha >= 0 && alpha < 0.5)) throw new GenSharpException($"logit alpha must be in [0, 0.5), got {alpha}");
        _alpha = alpha;
    }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        var s = x * (1 - 2 * _alpha) + _alpha;
        var logS = s.log();
        var log1mS = (-s).log1p();
        var y = logS - log1mS;
        // d y / d x = (1 − 2α) / (s (1 − s)), elementwise.
        var logDet = (Math.Log(1 - 2 * _alpha) - logS - log1mS).flatten(1).sum(1); // (B)
        return (y, logDet);
    }

    public override Tensor Inverse(Tensor y) => (torch.sigmoid(y) - _alpha) / (1 - 2 * _alpha);
}
