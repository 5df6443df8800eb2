using System.Diagnostics;

namespace GenSharp.Media.Audio;

/// <summary>
/// Phonemes of English text from Debian's <c>espeak-ng</c> (<c>-x --sep=_</c>: its ASCII phoneme names, stress marks
/// kept on the phoneme that follows them, so <c>'eI</c> and <c>eI</c> are different tokens). espeak-ng writes one line
/// per clause; a pause token <see cref="Pause"/> goes between clauses, and <see cref="Start"/>/<see cref="End"/> frame
/// the utterance for the silence around it. Word boundaries are not tokens.
/// </summary>
public static class EspeakPhonemes
{
    /// <summary>The token of the silence before the first phoneme.</summary>
    public const string Start = "^";
    /// <summary>The token of the silence after the last phoneme.</summary>
    public const string End = "$";
    /// <summary>The token of the pause between clauses (commas, full stops).</summary>
    public const string Pause = "|";
    /// <summary>espeak-ng's voice.</summary>
    public const string Voice = "en-us";

    /// <summary>The phoneme tokens of <paramref name="text"/>, framed by <see cref="Start"/> and <see cref="End"/>.</summary>
    /// <exception cref="GenSharpException">espeak-ng is not installed, or fails.</exception>
    public static IReadOnlyList<string> Phonemize(string text)
    {
        var tokens = new List<string> { Start };
        foreach (var clause in RunEspeak(text).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (tokens.Count > 1) tokens.Add(Pause);
            foreach (var word in clause.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                tokens.AddRange(word.Split('_', StringSplitOptions.RemoveEmptyEntries));
        }
        tokens.Add(End);
        return tokens;
    }

    /// <summary>The phonemes of many texts, several espeak-ng processes at a time.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> PhonemizeAll(IReadOnlyList<string> texts)
    {
        var result = new IReadOnlyList<string>[texts.Count];
        Parallel.For(0, texts.Count, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => result[i] = Phonemize(texts[i]));
        return result;
    }

    static string RunEspeak(string text)
    {
        if (text.Contains('\0')) throw new GenSharpException("the text holds a NUL character");
        var start = new ProcessStartInfo("espeak-ng")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
        };
        foreach (var a in new[] { "-q", "-v", Voice, "-x", "--sep=_", "-b", "1" }) start.ArgumentList.Add(a); // -b 1: UTF-8 input from stdin
        Process process;
        try { process = Process.Start(start) ?? throw new GenSharpException("espeak-ng did not start"); }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new GenSharpException("text-to-speech needs espeak-ng for phonemes; install it with 'apt-get install espeak-ng'");
        }
        using (process)
        {
            // Newlines inside the text would split clauses where the text does not; espeak-ng reads a line at a time.
            process.StandardInput.Write(text.Replace('\r', ' ').Replace('\n', ' '));
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new GenSharpException($"espeak-ng failed (exit {process.ExitCode}): {stderr.Trim()}");
            return stdout.Result;
        }
    }
}
