namespace GenSharp.LoadGen;

static class Stats
{
    /// <summary>The q-quantile (0…1) by linear interpolation between order statistics; null for no values.</summary>
    public static double? Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) return null;
        var sorted = values.Order().ToArray();
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    public static double? Round(double? x, int digits = 1) => x is { } v ? Math.Round(v, digits) : null;
}
