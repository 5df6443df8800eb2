namespace GenSharp.Evaluation;

/// <summary>Low quantiles of a distance distribution (linear interpolation between order statistics).</summary>
/// <param name="Min">Smallest distance.</param>
/// <param name="P01">1% quantile.</param>
/// <param name="P05">5% quantile.</param>
/// <param name="Median">50% quantile.</param>
public sealed record DistanceQuantiles(double Min, double P01, double P05, double Median);
