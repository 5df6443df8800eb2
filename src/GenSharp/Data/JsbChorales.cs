using System.IO.Compression;
using System.Text.Json;

namespace GenSharp.Data;

/// <summary>
/// The JSB Chorales (Bach's four-part chorales, 382 pieces) with the standard train/valid/test split of
/// Boulanger-Lewandowski et al. 2012 (229 / 76 / 77), in two forms: the 16th-note SATB form (four pitches per step,
/// soprano first, −1 for a silent voice) and the quarter-note piano roll (the set of sounding pitches per step).
/// <c>jsb</c> loads the copy embedded in the library (Data/Embedded/jsb-chorales/README.md); a folder holding
/// <c>Jsb16thSeparated.json</c> and <c>jsb-chorales-quarter.json</c> (or their <c>.gz</c>) loads those.
/// </summary>
public sealed class JsbChorales
{
    /// <summary>The name of the embedded copy.</summary>
    public const string Name = "jsb";
    /// <summary>A silent voice in the SATB form.</summary>
    public const int Rest = -1;
    const string SatbFile = "Jsb16thSeparated.json", RollFile = "jsb-chorales-quarter.json";

    /// <summary>Where the pieces came from (one line).</summary>
    public string Source { get; }
    /// <summary>SATB form by split ("train", "valid", "test"): each piece (steps, 4) MIDI pitches or <see cref="Rest"/>, one row per 16th note.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int[][]>> Satb { get; }
    /// <summary>Quarter-note piano roll by split: each piece a list of steps, each the ascending sounding pitches.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<int[][]>> Roll { get; }

    JsbChorales(string source, Dictionary<string, IReadOnlyList<int[][]>> satb, Dictionary<string, IReadOnlyList<int[][]>> roll)
        => (Source, Satb, Roll) = (source, satb, roll);

    /// <summary>The split names in order.</summary>
    public static readonly string[] Splits = { "train", "valid", "test" };

    /// <summary>Loads <c>jsb</c> (embedded; also for null) or a folder of the same files.</summary>
    /// <exception cref="ParameterException">The folder or a file is missing or malformed (parameter <c>data</c>).</exception>
    public static JsbChorales Load(string? location = null)
    {
        if (location is null || string.Equals(location.Trim(), Name, StringComparison.OrdinalIgnoreCase))
        {
            var asm = typeof(JsbChorales).Assembly;
            Stream Open(string file) => asm.GetManifestResourceStream("GenSharp.Data.Embedded.jsb." + file + ".gz")
                ?? throw new InvalidOperationException($"embedded resource {file}.gz is missing from {asm.GetName().Name}");
            using var satb = new GZipStream(Open(SatbFile), CompressionMode.Decompress);
            using var roll = new GZipStream(Open(RollFile), CompressionMode.Decompress);
            return new JsbChorales("JSB Chorales (embedded copy; Boulanger-Lewandowski 2012 split)",
                ReadSplits(satb, SatbFile, satbForm: true), ReadSplits(roll, RollFile, satbForm: false));
        }
        if (!Directory.Exists(location))
            throw new ParameterException("data", $"{location}: no such folder; music reads 'jsb' (the embedded JSB Chorales) or a folder holding {SatbFile} and {RollFile}");
        var full = Path.GetFullPath(location);
        Stream OpenFile(string file)
        {
            var plain = Path.Combine(full, file);
            if (File.Exists(plain)) return File.OpenRead(plain);
            if (File.Exists(plain + ".gz")) return new GZipStream(File.OpenRead(plain + ".gz"), CompressionMode.Decompress);
            throw new ParameterException("data", $"{location} holds no {file} (or {file}.gz); give the JSB Chorales folder, or 'jsb' for the embedded copy");
        }
        using var s = OpenFile(SatbFile);
        using var r = OpenFile(RollFile);
        return new JsbChorales($"JSB Chorales ({full})", ReadSplits(s, SatbFile, true), ReadSplits(r, RollFile, false));
    }

    static Dictionary<string, IReadOnlyList<int[][]>> ReadSplits(Stream stream, string file, bool satbForm)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new ParameterException("data", $"{file} is not JSON: {e.Message}"); }
        using (doc)
        {
            var result = new Dictionary<string, IReadOnlyList<int[][]>>();
            foreach (var split in Splits)
            {
                if (!doc.RootElement.TryGetProperty(split, out var pieces) || pieces.ValueKind != JsonValueKind.Array)
                    throw new ParameterException("data", $"{file} has no \"{split}\" list of pieces");
                var list = new List<int[][]>();
                foreach (var piece in pieces.EnumerateArray())
                {
                    var steps = piece.EnumerateArray().Select(step => step.EnumerateArray().Select(p => p.GetInt32()).ToArray()).ToArray();
                    foreach (var step in steps)
                    {
                        if (satbForm && step.Length != 4)
                            throw new ParameterException("data", $"{file}: a {split} step has {step.Length} voices, not 4 (soprano, alto, tenor, bass)");
                        if (step.Any(p => p is < -1 or > 127 || (!satbForm && p < 0)))
                            throw new ParameterException("data", $"{file}: a {split} step holds a pitch outside MIDI 0–127");
                        if (!satbForm) Array.Sort(step);
                    }
                    list.Add(steps);
                }
                result[split] = list;
            }
            return result;
        }
    }
}
