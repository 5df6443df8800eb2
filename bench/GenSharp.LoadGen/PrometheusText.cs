using System.Globalization;

namespace GenSharp.LoadGen;

/// <summary>Reads Prometheus' text exposition format into series → value, and the change of counters between two reads.</summary>
static class PrometheusText
{
    /// <summary>Every sample line as "name{labels}" → value, and each metric's declared type (from # TYPE lines).</summary>
    public static (Dictionary<string, double> Samples, Dictionary<string, string> Types) Parse(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('#'))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 4 && f[1] == "TYPE") types[f[2]] = f[3];
                continue;
            }
            // The value follows the series (whose labels may hold spaces inside quotes); a timestamp may follow it.
            int end = line.LastIndexOf('}');
            var rest = (end >= 0 ? line[(end + 1)..] : line[line.IndexOf(' ')..]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var series = end >= 0 ? line[..(end + 1)] : line[..line.IndexOf(' ')];
            if (rest.Length > 0 && double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) samples[series] = v;
        }
        return (samples, types);
    }

    /// <summary>
    /// The change of every counter whose name holds "tokens", "requests" or "images" (series without a declared type
    /// count as counters); series that did not change are left out.
    /// </summary>
    public static SortedDictionary<string, double> CounterDelta(string before, string after)
    {
        var (b, _) = Parse(before);
        var (a, types) = Parse(after);
        var delta = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (series, value) in a)
        {
            int brace = series.IndexOf('{');
            var name = brace >= 0 ? series[..brace] : series;
            if (!new[] { "tokens", "requests", "images" }.Any(w => name.Contains(w, StringComparison.OrdinalIgnoreCase))) continue;
            if (types.TryGetValue(name, out var type) && type != "counter" && type != "untyped") continue;
            double d = value - b.GetValueOrDefault(series);
            if (d != 0) delta[series] = d;
        }
        return delta;
    }
}
