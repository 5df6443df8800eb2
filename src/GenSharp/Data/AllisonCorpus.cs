using System.IO.Compression;
using GenSharp.Media.Audio;

namespace GenSharp.Data;

/// <summary>
/// The Allison speech corpus: the English prompts of Asterisk's core sounds, spoken by one speaker (Allison Smith),
/// 8 kHz mono 16-bit WAV, CC-BY-SA-3.0, from the Debian packages <c>asterisk-core-sounds-en-wav</c> (audio) and
/// <c>asterisk-core-sounds-en</c> (the transcript of every file, <c>core-sounds-en.txt.gz</c>).
/// <para>
/// Utterances are the files with a spoken transcript: tones and screams ("[ascending tones]") and the silence files
/// are left out, and bracketed remarks are cut from transcripts ("at [@]" → "at"). The held-out test split is fixed:
/// an utterance is a test utterance when the FNV-1a hash of its id (e.g. <c>digits/7</c>) is 0 mod 10 — about a tenth,
/// independent of which other files exist or the order the file system lists them.
/// </para>
/// </summary>
public sealed class AllisonCorpus
{
    /// <summary>The name <c>--data</c> takes for the corpus at its Debian location.</summary>
    public const string Name = "allison";
    /// <summary>Where <c>asterisk-core-sounds-en-wav</c> installs the audio.</summary>
    public const string DefaultAudioFolder = "/usr/share/asterisk/sounds/en_US_f_Allison";
    /// <summary>Where <c>asterisk-core-sounds-en</c> installs the transcripts.</summary>
    public const string DefaultTranscripts = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";
    /// <summary>Sample rate of every file.</summary>
    public const int SampleRate = 8000;

    AllisonCorpus(string folder, IReadOnlyList<AllisonUtterance> utterances)
    {
        Folder = folder;
        Utterances = utterances;
    }

    /// <summary>The audio folder.</summary>
    public string Folder { get; }
    /// <summary>Every spoken utterance, ordered by id.</summary>
    public IReadOnlyList<AllisonUtterance> Utterances { get; }
    /// <summary>The training utterances.</summary>
    public IReadOnlyList<AllisonUtterance> Train => Utterances.Where(u => !u.IsTest).ToList();
    /// <summary>The held-out test utterances.</summary>
    public IReadOnlyList<AllisonUtterance> Test => Utterances.Where(u => u.IsTest).ToList();
    /// <summary>One line for logs: where and how much.</summary>
    public string Source => $"Allison speech corpus from {Folder} ({Utterances.Count} utterances: {Train.Count} train, {Test.Count} test)";

    /// <summary>
    /// Reads the corpus: <paramref name="location"/> null or <c>allison</c> for the Debian packages, or a folder of
    /// the same layout (its transcripts as <c>core-sounds-en.txt[.gz]</c> in it, else the Debian transcripts).
    /// </summary>
    /// <exception cref="GenSharpException">The packages (or the folder) are missing, or no utterance has audio.</exception>
    public static AllisonCorpus Load(string? location = null)
    {
        bool standard = location is null || string.Equals(location, Name, StringComparison.OrdinalIgnoreCase);
        var folder = standard ? DefaultAudioFolder : Path.GetFullPath(location!);
        const string install = "install it with 'apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en'";
        if (!Directory.Exists(folder))
            throw new GenSharpException(standard ? $"the Allison speech corpus is not installed ({folder} is missing); {install}"
                                                 : $"--data {location}: folder not found");
        var transcripts = new[] { Path.Combine(folder, "core-sounds-en.txt.gz"), Path.Combine(folder, "core-sounds-en.txt"), DefaultTranscripts }
            .FirstOrDefault(File.Exists)
            ?? throw new GenSharpException($"the Allison transcripts are missing ({DefaultTranscripts}); {install}");
        var utterances = new List<AllisonUtterance>();
        foreach (var (id, text) in ReadTranscripts(transcripts))
        {
            var path = Path.Combine(folder, id + ".wav");
            if (!File.Exists(path)) continue;
            var spoken = Spoken(text);
            if (spoken is null) continue;
            utterances.Add(new AllisonUtterance(id, path, spoken, IsTestId(id)));
        }
        if (utterances.Count == 0)
            throw new GenSharpException($"{folder}: none of the transcribed utterances of {transcripts} has a WAV file there");
        return new AllisonCorpus(folder, utterances.OrderBy(u => u.Id, StringComparer.Ordinal).ToList());
    }

    /// <summary>(id, transcript) for every line "id: text" of the transcripts file (plain or gzip); ';' lines are comments.</summary>
    public static IEnumerable<(string Id, string Text)> ReadTranscripts(string path)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var result = new List<(string, string)>();
        while (reader.ReadLine() is { } line)
        {
            if (line.StartsWith(';')) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            result.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        return result;
    }

    /// <summary>
    /// The spoken words of a transcript: bracketed remarks removed, whitespace collapsed; null when nothing is spoken
    /// (a tone, "[sound of monkeys screaming]", or "(10 seconds of silence)").
    /// </summary>
    public static string? Spoken(string transcript)
    {
        if (transcript.StartsWith('(')) return null;
        var text = System.Text.RegularExpressions.Regex.Replace(transcript, @"\[[^\]]*\]", " ");
        text = System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ").Trim();
        return text.Length == 0 ? null : text;
    }

    /// <summary>Whether an utterance id belongs to the fixed test split: FNV-1a (32-bit) of its UTF-8 bytes ≡ 0 mod 10.</summary>
    public static bool IsTestId(string id)
    {
        uint h = 2166136261;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(id)) h = (h ^ b) * 16777619;
        return h % 10 == 0;
    }

    /// <summary>Reads an utterance's audio; it must be 8 kHz.</summary>
    public static Waveform ReadAudio(AllisonUtterance u)
    {
        var w = WavFile.Read(u.Path);
        if (w.SampleRate != SampleRate)
            throw new GenSharpException($"{u.Path}: sample rate {w.SampleRate} Hz, expected {SampleRate}; convert it with 'sox {u.Path} -r {SampleRate} out.wav'");
        return w;
    }
}
