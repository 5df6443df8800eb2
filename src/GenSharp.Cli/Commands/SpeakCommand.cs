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
    [Description("seeds Griffin-Lim's first phase estimate, or the vocoder's draws")]
    [DefaultValue(0L)]
    public long Seed { get; init; }

    [CommandOption("--vocoder <CKPT>")]
    [Description("a mel-conditioned wavenet checkpoint (gensharp train wavenet --data allison) that draws the waveform from the spectrogram; 'none': the post-net and Griffin-Lim. Default: the tts checkpoint's own vocoder/ subfolder when it has one, else Griffin-Lim")]
    public string? Vocoder { get; init; }

    [CommandOption("--vocoder-batch <N>")]
    [Description("with --vocoder: utterances drawn at once (--input-file, a --resynthesize folder)")]
    [DefaultValue(16)]
    public int VocoderBatch { get; init; } = 16;

    [CommandOption("--temperature <T>")]
    [Description("with --vocoder: its softmax temperature (1 = its distribution; below 1 draws fewer unlikely samples)")]
    [DefaultValue(1.0)]
    public double Temperature { get; init; } = 1.0;
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
        if (s.VocoderBatch is < 1 or > 1024) throw new GenSharpException($"--vocoder-batch must be in [1, 1024], got {s.VocoderBatch}");
        if (s.Temperature is <= 0 or > 10 || double.IsNaN(s.Temperature)) throw new GenSharpException($"--temperature must be in (0, 10], got {s.Temperature}");
        var vocoderDir = SpeechVocoders.Resolve(s.Checkpoint, s.Vocoder);
        if (vocoderDir is null && (s.VocoderBatch != 16 || s.Temperature != 1.0))
            throw new GenSharpException("--vocoder-batch and --temperature apply to a WaveNet vocoder; this speaks with Griffin-Lim (give --vocoder CKPT)");
        using var v = vocoderDir is null ? null : SpeechVocoders.Load(vocoderDir, s.TorchDevice);
        var vocoder = (IAudioModel?)v?.Model;
        var options = new SpeechOptions
        {
            Speed = s.Speed, Iterations = s.Iterations, Seed = s.Seed, Vocoder = vocoder, VocoderBatch = s.VocoderBatch, Temperature = s.Temperature,
            Progress = vocoder is null ? null : Progress(cancel),
        };
        var clock = Stopwatch.StartNew();
        if (lines is not null || folder)
        {
            Directory.CreateDirectory(outPath);
            var names = lines?.Select(l => l.Name).ToList() ?? recordings!.Select(f => Path.GetFileNameWithoutExtension(f)).ToList();
            var results = lines is not null
                ? model.SpeakAll(lines.Select(l => l.Text).ToList(), options)
                : model.ResynthesizeAll(recordings!.Select(WavFile.Read).ToList(), options);
            double compute = clock.Elapsed.TotalSeconds, audioSeconds = 0;
            for (int i = 0; i < results.Count; i++)
                using (var r = results[i])
                {
                    Write(model, r, Path.Combine(outPath, names[i] + ".wav"));
                    audioSeconds += r.Audio.Seconds;
                }
            Console.WriteLine($"wrote {results.Count} WAV files to {outPath}: {audioSeconds:F1} s of audio in {compute:F1} s (real-time factor {compute / Math.Max(1e-9, audioSeconds):F3})"
                              + (vocoder is null ? "" : $"; vocoder {vocoderDir}"));
            return 0;
        }
        using (var r = recordings is null ? model.Speak(s.Text!, options) : model.Resynthesize(WavFile.Read(recordings[0]), options))
        {
            double compute = clock.Elapsed.TotalSeconds;
            var png = Write(model, r, outPath);
            Console.WriteLine($"wrote {outPath} ({r.Audio.Seconds:F2} s at {r.Audio.SampleRate} Hz) and its spectrogram {png}; {compute:F2} s of compute, " +
                              $"real-time factor {compute / Math.Max(1e-9, r.Audio.Seconds):F3}" + (vocoder is null ? " (Griffin-Lim)" : $" (vocoder {vocoderDir})") +
                              (r.Phonemes.Count > 0 ? $"; phonemes: {string.Join(" ", r.Phonemes)}" : ""));
        }
        return 0;
    }

    static string Write(ISpeechModel model, SpeechResult r, string path)
    {
        var png = AudioSampling.WriteWavAndSpectrogram(r.Audio, path, model.Mel);
        if (r.Unknown.Count > 0)
            Console.Error.WriteLine($"warning: phonemes this model never heard were left out of {Path.GetFileName(path)}: {string.Join(" ", r.Unknown.Distinct())}");
        return png;
    }

    /// <summary>
    /// The vocoder's progress on stderr, a line per tenth of each batch (it draws one sample at a time), and Ctrl+C
    /// stops the draw at the next sample.
    /// </summary>
    static Action<long, long> Progress(CancellationToken cancel)
    {
        int batch = 0, shown = -1;
        var clock = Stopwatch.StartNew();
        return (done, total) =>
        {
            cancel.ThrowIfCancellationRequested();
            if (done == 1) { batch++; shown = -1; }
            int tenth = (int)(10 * done / total);
            if (tenth == shown) return;
            shown = tenth;
            Console.Error.WriteLine($"vocoder: batch {batch}, {done:N0}/{total:N0} samples ({10 * tenth} %), {clock.Elapsed.TotalSeconds:F0} s");
        };
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
