using System.ComponentModel;
using System.Diagnostics;
using GenSharp.Media.Audio;
using GenSharp.Models;
using GenSharp.Pipelines;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class SpeakSettings : CheckpointSettings
{
    [CommandArgument(1, "[TEXT]")]
    [Description("what to say (or give --input-file)")]
    public string? Text { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("the WAV to write (16-bit mono at the model's rate); its spectrogram PNG goes beside it; with --input-file, a folder")]
    public string? Out { get; init; }

    [CommandOption("--input-file <FILE>")]
    [Description("speak every line 'NAME<TAB>TEXT' (or just TEXT, named line-N) of this UTF-8 file into --out FOLDER/NAME.wav, loading the model once")]
    public string? InputFile { get; init; }

    [CommandOption("--resynthesize <WAV>")]
    [Description("instead of text: speak again what this recording says from its own log-mel frames (the vocoder half alone); a folder of WAVs goes to --out FOLDER")]
    public string? Resynthesize { get; init; }

    [CommandOption("--speed <X>")]
    [Description("speaking rate, 0.25 to 4 (2 = twice as fast)")]
    [DefaultValue(1.0)]
    public double Speed { get; init; } = 1.0;

    [CommandOption("--iterations <N>")]
    [Description("Griffin-Lim iterations (more: cleaner phase, slower)")]
    [DefaultValue(64)]
    public int Iterations { get; init; } = 64;

    [CommandOption("--seed <N>")]
    [Description("seeds Griffin-Lim's first phase estimate")]
    [DefaultValue(0L)]
    public long Seed { get; init; }
}

/// <summary><c>gensharp speak CKPT "text" --out x.wav</c>: text-to-speech with a <c>tts</c> checkpoint.</summary>
public sealed class SpeakCommand : Command<SpeakSettings>
{
    public override int Execute(CommandContext context, SpeakSettings s, CancellationToken cancel)
    {
        if (s.Speed is < 0.25 or > 4 || double.IsNaN(s.Speed)) throw new GenSharpException($"--speed must be in [0.25, 4], got {s.Speed}");
        if (s.Iterations is < 0 or > 10_000) throw new GenSharpException($"--iterations must be in [0, 10000], got {s.Iterations}");
        int given = (s.Text is null ? 0 : 1) + (s.InputFile is null ? 0 : 1) + (s.Resynthesize is null ? 0 : 1);
        if (given != 1) throw new GenSharpException("give exactly one of: TEXT, --input-file FILE, --resynthesize WAV");
        var lines = s.InputFile is null ? null : ReadLines(s.InputFile);
        bool folder = s.Resynthesize is not null && Directory.Exists(s.Resynthesize);
        var recordings = s.Resynthesize is null ? null
            : folder ? Directory.GetFiles(s.Resynthesize!, "*.wav").Order(StringComparer.Ordinal).ToArray()
            : File.Exists(s.Resynthesize) ? new[] { s.Resynthesize! }
            : throw new GenSharpException($"--resynthesize {s.Resynthesize}: no such WAV file or folder");
        if (recordings is { Length: 0 }) throw new GenSharpException($"--resynthesize {s.Resynthesize}: the folder holds no .wav file");
        var outPath = s.InputFile is null && !folder ? CliInputs.Output(s.Out, "speak", ".wav") : CliInputs.Required(s.Out, "out", "speak");
        using var m = CliInputs.Load(s.Checkpoint, s);
        var model = m.Model as ISpeechModel
            ?? throw new GenSharpException($"{s.Checkpoint} holds a {m.Family.Name} model, which does not speak; give a tts checkpoint (gensharp train tts)");
        var options = new SpeechOptions { Speed = s.Speed, Iterations = s.Iterations, Seed = s.Seed };
        if (lines is not null || folder)
        {
            Directory.CreateDirectory(outPath);
            double audioSeconds = 0, computeSeconds = 0;
            var jobs = lines?.Select(l => (l.Name, Text: (string?)l.Text, Wav: (string?)null))
                       ?? recordings!.Select(f => (Name: Path.GetFileNameWithoutExtension(f), Text: (string?)null, Wav: (string?)f));
            int count = 0;
            foreach (var (name, text, wav) in jobs)
            {
                cancel.ThrowIfCancellationRequested();
                var (seconds, compute) = SpeakOne(model, text, wav is null ? null : WavFile.Read(wav), options, Path.Combine(outPath, name + ".wav"), quiet: true);
                audioSeconds += seconds;
                computeSeconds += compute;
                count++;
            }
            Console.WriteLine($"wrote {count} WAV files to {outPath}: {audioSeconds:F1} s of audio in {computeSeconds:F1} s (real-time factor {computeSeconds / Math.Max(1e-9, audioSeconds):F3})");
            return 0;
        }
        SpeakOne(model, s.Text, recordings is null ? null : WavFile.Read(recordings[0]), options, outPath, quiet: false);
        return 0;
    }

    static (double Seconds, double Compute) SpeakOne(ISpeechModel model, string? text, Waveform? recording, SpeechOptions options, string path, bool quiet)
    {
        var clock = Stopwatch.StartNew();
        using var r = recording is null ? model.Speak(text!, options) : model.Resynthesize(recording, options);
        double compute = clock.Elapsed.TotalSeconds;
        var png = AudioSampling.WriteWavAndSpectrogram(r.Audio, path, model.Mel);
        if (r.Unknown.Count > 0)
            Console.Error.WriteLine($"warning: phonemes this model never heard were left out of {Path.GetFileName(path)}: {string.Join(" ", r.Unknown.Distinct())}");
        if (!quiet)
            Console.WriteLine($"wrote {path} ({r.Audio.Seconds:F2} s at {r.Audio.SampleRate} Hz) and its spectrogram {png}; {compute:F2} s of compute, " +
                              $"real-time factor {compute / Math.Max(1e-9, r.Audio.Seconds):F3}" + (r.Phonemes.Count > 0 ? $"; phonemes: {string.Join(" ", r.Phonemes)}" : ""));
        return (r.Audio.Seconds, compute);
    }

    static List<(string Name, string Text)> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"--input-file {path}: file not found");
        var result = new List<(string, string)>();
        int number = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            int tab = line.IndexOf('\t');
            var name = tab > 0 ? line[..tab].Trim() : $"line-{number}";
            var text = tab > 0 ? line[(tab + 1)..].Trim() : line;
            if (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
                throw new GenSharpException($"--input-file {path}:{number}: '{name}' cannot be a file name; use letters, digits, '-' or '_'");
            if (text.Length == 0) throw new GenSharpException($"--input-file {path}:{number}: no text after the tab");
            result.Add((name, text));
        }
        if (result.Count == 0) throw new GenSharpException($"--input-file {path}: no line to speak");
        if (result.Select(r => r.Item1).Distinct().Count() != result.Count) throw new GenSharpException($"--input-file {path}: two lines have the same name");
        return result;
    }
}
