using GenSharp.Data;

namespace GenSharp.TextToImage;

/// <summary>
/// Describes Fashion-MNIST images in words that can be checked against their pixels: the class name plus the
/// attribute words whose measurement (see <see cref="ImageAttributes"/>) falls outside the middle third
/// (see <see cref="CaptionThresholds"/>), in one of several phrasings, e.g. "a dark patterned shirt",
/// "a photo of a wide, light bag", "a sandal that is small and narrow". The choice of phrasing and of which
/// attribute words to say is drawn from a seeded generator, so the same seed gives the same captions.
/// </summary>
public sealed class FashionCaptioner
{
    /// <summary>The garment noun of each Fashion-MNIST class (label order).</summary>
    public static IReadOnlyList<string> Nouns { get; } = Array.AsReadOnly(new[]
    {
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot",
    });

    static readonly string[] LowWords = { "dark", "small", "narrow", "plain", "low-contrast" };
    static readonly string[] HighWords = { "light", "large", "wide", "patterned", "high-contrast" };

    /// <summary>Creates a captioner.</summary>
    /// <param name="thresholds">Where attribute words start; <see cref="CaptionThresholds.Default"/> when null.</param>
    /// <param name="mentionProbability">Probability that each attribute word that applies is said (1 = always all).</param>
    public FashionCaptioner(CaptionThresholds? thresholds = null, double mentionProbability = 0.75)
    {
        if (!(mentionProbability is > 0 and <= 1))
            throw new GenSharpException($"mention probability must be in (0, 1], got {mentionProbability}");
        Thresholds = thresholds ?? CaptionThresholds.Default;
        MentionProbability = mentionProbability;
    }

    /// <summary>The thresholds that turn measurements into words.</summary>
    public CaptionThresholds Thresholds { get; }

    /// <summary>Probability that an applicable attribute word is said.</summary>
    public double MentionProbability { get; }

    /// <summary>The word for <paramref name="kind"/> at the low (false) or high (true) end.</summary>
    public static string Word(AttributeKind kind, bool high) => (high ? HighWords : LowWords)[(int)kind];

    /// <summary>
    /// Parses an attribute word ("dark", "wide", "high-contrast", …; "bright" is read as light, "big" as large) into its
    /// attribute and end; null for any other word.
    /// </summary>
    public static (AttributeKind Kind, bool High)? ParseWord(string word)
    {
        var w = word.Trim().ToLowerInvariant();
        if (w == "bright") w = "light";
        if (w == "big") w = "large";
        int i = Array.IndexOf(LowWords, w);
        if (i >= 0) return ((AttributeKind)i, false);
        i = Array.IndexOf(HighWords, w);
        return i >= 0 ? ((AttributeKind)i, true) : null;
    }

    /// <summary>The attribute words that apply to image <paramref name="index"/> of <paramref name="measured"/>: (kind, high) for each attribute outside the middle third.</summary>
    public IReadOnlyList<(AttributeKind Kind, bool High)> Applicable(ImageAttributes measured, int index)
    {
        var result = new List<(AttributeKind, bool)>();
        foreach (var kind in Enum.GetValues<AttributeKind>())
        {
            double v = measured.Of(kind)[index];
            if (v < Thresholds.LowOf(kind)) result.Add((kind, false));
            else if (v > Thresholds.HighOf(kind)) result.Add((kind, true));
        }
        return result;
    }

    /// <summary>One caption of image <paramref name="index"/> with class <paramref name="label"/>, its phrasing and words drawn from <paramref name="rng"/>.</summary>
    public string Caption(int label, ImageAttributes measured, int index, Random rng)
    {
        if (label < 0 || label >= Nouns.Count) throw new GenSharpException($"label {label} is not a Fashion-MNIST class (0..9)");
        var words = Applicable(measured, index).Where(_ => rng.NextDouble() < MentionProbability)
            .Select(a => Word(a.Kind, a.High)).OrderBy(_ => rng.Next()).ToList();
        return Phrase(Nouns[label], words, rng.Next(Phrasings));
    }

    /// <summary>Number of phrasings <see cref="Phrase"/> knows.</summary>
    public const int Phrasings = 5;

    /// <summary>Puts a noun and its attribute words into phrasing <paramref name="phrasing"/> (0..<see cref="Phrasings"/>−1).</summary>
    public static string Phrase(string noun, IReadOnlyList<string> words, int phrasing)
    {
        string adjectives = string.Join(" ", words);
        string Article(string next) => "aeiou".Contains(next[0]) ? "an" : "a";
        string Lead(string rest) => $"{Article(rest)} {rest}";
        string plain = words.Count == 0 ? noun : $"{adjectives} {noun}";
        return phrasing switch
        {
            0 => Lead(plain),
            1 => $"a photo of {Lead(plain)}",
            2 => words.Count == 0 ? $"a picture of {Lead(noun)}" : $"a picture of {Lead(string.Join(", ", words) + " " + noun)}",
            3 => words.Count == 0 ? Lead(noun) : $"{Lead(noun)} that is {And(words)}",
            _ => words.Count == 0 ? noun : $"{noun}, {string.Join(", ", words)}",
        };
    }

    static string And(IReadOnlyList<string> words) =>
        words.Count == 1 ? words[0] : string.Join(", ", words.Take(words.Count - 1)) + " and " + words[^1];

    /// <summary>
    /// One caption per image of <paramref name="data"/>, deterministic in <paramref name="seed"/>: image i draws from
    /// its own generator seeded by (seed, i), so a caption does not depend on which other images are captioned.
    /// </summary>
    public string[] Captions(ImageDataset data, long seed)
    {
        var measured = ImageAttributes.Measure(data.Images);
        var labels = data.Labels.to(ScalarType.Int64).data<long>().ToArray();
        return Enumerable.Range(0, data.Count).Select(i => Caption((int)labels[i], measured, i, RngFor(seed, i))).ToArray();
    }

    /// <summary>The generator of caption i under <paramref name="seed"/>.</summary>
    public static Random RngFor(long seed, long index)
    {
        // SplitMix64 finaliser of (seed, index): stable across processes and runtimes (HashCode is randomised per process).
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return new Random((int)(z & 0x7FFFFFFF));
    }
}
