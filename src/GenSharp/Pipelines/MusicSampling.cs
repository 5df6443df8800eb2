using System.Diagnostics;
using System.Globalization;
using GenSharp.Data;
using GenSharp.Media.Audio;
using GenSharp.Media.Midi;
using GenSharp.Models;
using GenSharp.Models.Music;

namespace GenSharp.Pipelines;

/// <summary>What <see cref="MusicSampling.Run"/> draws.</summary>
public sealed record MusicSamplingOptions
{
    /// <summary>Steps to draw (16ths for satb16, quarters for the roll); default 128 sixteenths = 8 bars, or 32 quarters.</summary>
    public int? Steps { get; init; }
    /// <summary>Seeds the draws.</summary>
    public long Seed { get; init; }
    /// <summary>Softmax temperature.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary><c>test:K[:S]</c>: continue the first S steps (default 32 sixteenths / 8 quarters) of the K-th test chorale.</summary>
    public string? Prime { get; init; }
    /// <summary><c>test:K</c>: keep the soprano of the K-th test chorale and draw alto, tenor and bass (satb16 only).</summary>
    public string? Melody { get; init; }
}

/// <summary>A drawn chorale: its steps, how many of them were given, and the compute time.</summary>
public sealed record MusicSamplingResult(List<int[]> Steps, int PrimeSteps, MusicEncoding Encoding, double Seconds, string? SourceName);

/// <summary>Draws chorales from an <see cref="IMusicModel"/> and writes them as MIDI, a piano-roll PNG and a rendered WAV.</summary>
public static class MusicSampling
{
    /// <summary>Draws one piece.</summary>
    public static MusicSamplingResult Run(IMusicModel model, MusicSamplingOptions o)
    {
        bool satb = model.Encoding == MusicEncoding.Satb16;
        if (o.Prime is not null && o.Melody is not null) throw new ParameterException("melody", "goes without --prime (harmonise a melody, or continue an opening)");
        IReadOnlyList<int[]>? prime = null;
        IReadOnlyList<int>? soprano = null;
        string? source = null;
        int steps = o.Steps ?? (satb ? 128 : 32);
        if (o.Prime is { } p)
        {
            var (piece, k, count) = TestPiece(p, "prime", model.Encoding);
            count ??= satb ? 32 : 8;
            if (count < 1 || count > piece.Length) throw new ParameterException("prime", $"takes 1 to {piece.Length} steps of test:{k}, got {count}");
            prime = piece.Take(count.Value).ToList();
            source = $"the first {count} steps of test chorale {k}";
        }
        if (o.Melody is { } m)
        {
            if (!satb) throw new ParameterException("melody", "needs a satb16 model (the roll has no voices)");
            var (piece, k, count) = TestPiece(m, "melody", model.Encoding);
            if (count is not null) throw new ParameterException("melody", "is test:K (the whole soprano line)");
            soprano = piece.Select(s => s[0]).ToList();
            steps = o.Steps is { } st ? Math.Min(st, piece.Length) : piece.Length;
            source = $"the soprano of test chorale {k}";
        }
        var clock = Stopwatch.StartNew();
        var drawn = model.Generate(new MusicGenerationOptions { Steps = steps, Seed = o.Seed, Temperature = o.Temperature, Prime = prime, Soprano = soprano });
        return new MusicSamplingResult(drawn, prime?.Count ?? 0, model.Encoding, clock.Elapsed.TotalSeconds, source);
    }

    /// <summary><c>test:K[:S]</c> → the K-th test piece of the embedded chorales and S (null when absent).</summary>
    static (int[][] Piece, int K, int? Count) TestPiece(string spec, string option, MusicEncoding encoding)
    {
        var parts = spec.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0] != "test" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            || (parts.Length == 3 && !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            throw new ParameterException(option, $"must be test:K{(option == "prime" ? "[:STEPS]" : "")} (a held-out JSB chorale), got '{spec}'");
        var jsb = JsbChorales.Load();
        var pieces = encoding == MusicEncoding.Satb16 ? jsb.Satb["test"] : jsb.Roll["test"];
        if (k >= pieces.Count) throw new ParameterException(option, $"test:{k} is out of range: there are {pieces.Count} test chorales (0–{pieces.Count - 1})");
        return (pieces[k], k, parts.Length == 3 ? int.Parse(parts[2], CultureInfo.InvariantCulture) : null);
    }

    /// <summary>Ticks per step at 480 per quarter.</summary>
    public static int TicksPerStep(MusicEncoding e) => e == MusicEncoding.Satb16 ? 120 : 480;

    /// <summary>
    /// Writes the piece as <paramref name="midiPath"/> (organ, 80 quarters a minute), its piano roll beside it (.png), and
    /// when FluidSynth is installed a rendered mono .wav at <paramref name="sampleRate"/> Hz; returns the PNG path and the WAV path (or null).
    /// </summary>
    public static (string Png, string? Wav) Write(MusicSamplingResult r, string midiPath, bool render = true, int sampleRate = 22050)
    {
        bool satb = r.Encoding == MusicEncoding.Satb16;
        var tracks = satb ? PianoRoll.VoiceTracks(r.Steps, TicksPerStep(r.Encoding)) : PianoRoll.RollTracks(r.Steps, TicksPerStep(r.Encoding));
        MidiFile.Write(midiPath, tracks, 480, 80);
        var png = Path.ChangeExtension(midiPath, ".png");
        PianoRoll.SavePng(png, r.Steps, voices: satb, stepsPerBar: satb ? 16 : 4, scale: satb ? 3 : 8);
        if (!render || !MidiRenderer.Available) return (png, null);
        var wav = Path.ChangeExtension(midiPath, ".wav");
        WavFile.Write(wav, MidiRenderer.Render(midiPath, sampleRate));
        return (png, wav);
    }
}
