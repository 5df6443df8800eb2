namespace GenSharp.Media;

/// <summary>One line of a <see cref="LinePlot"/>: a legend name and paired x and y values.</summary>
/// <param name="Name">Shown in the legend; empty names are left out of it.</param>
/// <param name="X">X coordinates, one per y value.</param>
/// <param name="Y">Y values; NaN and infinities (and, on a log axis, values ≤ 0) break the line.</param>
public sealed record PlotSeries(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);
