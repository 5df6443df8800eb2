using System.Text.RegularExpressions;

namespace GenSharp.Rag;

/// <summary>
/// How well an answer is grounded in the chunks it cites, by word overlap (no entailment model): the answer is cut
/// into sentences; a sentence's sources are the chunks its own [n] markers name, or, when it has none, those the
/// whole answer names; it counts as supported when at least <see cref="SupportShare"/> of its content words (lower-cased
/// letters/digits, 3+ characters, not a stop word) occur in those chunks. An uncited answer supports nothing.
/// This is a lexical check: a paraphrase with other words fails it, and a sentence that copies words while
/// contradicting them passes — it bounds copying, not truth.
/// </summary>
public static partial class AnswerSupport
{
    /// <summary>Share of a sentence's content words that must occur in its cited chunks.</summary>
    public const double SupportShare = 0.5;

    [GeneratedRegex(@"\[(\d+)\]")] private static partial Regex Marker();
    [GeneratedRegex(@"(?<=[.!?])\s+|\n+")] private static partial Regex SentenceBreak();
    [GeneratedRegex(@"[\p{L}\p{N}_]+")] private static partial Regex Word();

    static readonly HashSet<string> Stop = new(StringComparer.Ordinal)
    {
        "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "her", "was", "one", "our", "out", "has", "have",
        "had", "his", "how", "its", "may", "who", "did", "get", "him", "let", "she", "too", "use", "that", "with", "this",
        "from", "they", "will", "would", "there", "their", "what", "when", "which", "where", "while", "your", "into", "than",
        "then", "them", "these", "those", "been", "being", "were", "also", "such", "some", "does", "only", "other", "each",
        "more", "most", "very", "just", "over", "same", "both", "via", "per", "about", "here", "should", "could", "using", "used",
    };

    /// <summary>The citation numbers in <paramref name="text"/>, in order of appearance (repeats kept).</summary>
    public static List<int> Citations(string text) => Marker().Matches(text).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    /// <summary>The sentences of an answer that say something: markers removed for the test, blank pieces dropped.</summary>
    public static List<string> Sentences(string answer) =>
        SentenceBreak().Split(answer).Select(s => s.Trim()).Where(s => ContentWords(Marker().Replace(s, " ")).Count > 0).ToList();

    /// <summary>The content words of <paramref name="text"/>.</summary>
    public static List<string> ContentWords(string text) =>
        Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Where(w => w.Length >= 3 && !Stop.Contains(w)).ToList();

    /// <summary>
    /// Supported sentences over all sentences of <paramref name="answer"/> against its 1-based numbered
    /// <paramref name="sources"/>; null when the answer has no sentence to judge.
    /// </summary>
    public static double? Faithfulness(string answer, IReadOnlyList<Chunk> sources)
    {
        var sentences = Sentences(answer);
        if (sentences.Count == 0) return null;
        var all = Citations(answer);
        int supported = 0;
        foreach (var s in sentences)
        {
            var cited = Citations(s);
            if (cited.Count == 0) cited = all;
            var vocabulary = new HashSet<string>(cited.Where(n => n >= 1 && n <= sources.Count).SelectMany(n => ContentWords(sources[n - 1].Text + " " + sources[n - 1].Heading)), StringComparer.Ordinal);
            var words = ContentWords(Marker().Replace(s, " "));
            if (vocabulary.Count > 0 && words.Count(vocabulary.Contains) >= SupportShare * words.Count) supported++;
        }
        return (double)supported / sentences.Count;
    }
}
