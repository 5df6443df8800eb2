using System.Text;
using GenSharp.Text;

namespace GenSharp.Data;

/// <summary>
/// A UTF-8 text file tokenized once and split into a training part (the first 90% of the tokens)
/// and a validation part (the last 10%), contiguous as in nanoGPT, so validation text is unseen text
/// rather than windows interleaved with training ones.
/// </summary>
public sealed class TextCorpus
{
    /// <summary>Fraction of the tokens kept for validation.</summary>
    public const double ValidationFraction = 0.1;

    /// <param name="source">Where the text came from (file path).</param>
    /// <param name="tokens">All tokens of the text in order.</param>
    /// <param name="characters">Length of the text in UTF-16 characters.</param>
    public TextCorpus(string source, int[] tokens, long characters)
    {
        Source = source;
        Tokens = tokens;
        Characters = characters;
        int val = (int)Math.Round(tokens.Length * ValidationFraction);
        TrainTokens = new ArraySegment<int>(tokens, 0, tokens.Length - val);
        ValidationTokens = new ArraySegment<int>(tokens, tokens.Length - val, val);
    }

    public string Source { get; }
    public int[] Tokens { get; }
    public long Characters { get; }
    public ArraySegment<int> TrainTokens { get; }
    public ArraySegment<int> ValidationTokens { get; }

    /// <summary>Reads a UTF-8 file (a byte-order mark is skipped); invalid UTF-8 is an error naming the file.</summary>
    public static string ReadText(string path)
    {
        if (string.IsNullOrEmpty(path)) throw new ParameterException("data", "is required: text families read a UTF-8 text file");
        if (Directory.Exists(path)) throw new ParameterException("data", $"{path} is a folder; text families read one UTF-8 text file");
        if (!File.Exists(path)) throw new ParameterException("data", $"{path}: file not found");
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path)).TrimStart('\uFEFF'); }
        catch (DecoderFallbackException) { throw new ParameterException("data", $"{path} is not valid UTF-8 text; convert it to UTF-8 first"); }
    }

    /// <summary>Tokenizes <paramref name="text"/> with <paramref name="tokenizer"/>.</summary>
    public static TextCorpus FromText(string source, string text, ITokenizer tokenizer) =>
        new(source, tokenizer.Encode(text), text.Length);
}
