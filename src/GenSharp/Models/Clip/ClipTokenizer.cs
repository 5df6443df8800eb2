using System.Text.RegularExpressions;

namespace GenSharp.Models.Clip;

/// <summary>
/// Word-level tokenizer over the closed vocabulary of Fashion-MNIST captions: start, end, padding and unknown
/// tokens, the phrasing words, the garment words and the attribute words. Text is lower-cased and split into words
/// (letters and hyphens) and commas; "bright" reads as "light" and "big" as "large"; any other word is
/// <c>&lt;unk&gt;</c>. The vocabulary order is fixed: checkpoints depend on it.
/// </summary>
public static partial class ClipTokenizer
{
    /// <summary>Padding after the end token.</summary>
    public const int Pad = 0;
    /// <summary>Start of text.</summary>
    public const int Start = 1;
    /// <summary>End of text; its final state is the text's embedding.</summary>
    public const int End = 2;
    /// <summary>A word outside the vocabulary.</summary>
    public const int Unknown = 3;

    /// <summary>The vocabulary, by id.</summary>
    public static IReadOnlyList<string> Vocabulary { get; } = Array.AsReadOnly(new[]
    {
        "<pad>", "<start>", "<end>", "<unk>",
        "a", "an", "photo", "of", "picture", "that", "is", "and", ",", "the", "with", "not", "no",
        "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle", "boot",
        "dark", "light", "small", "large", "narrow", "wide", "plain", "patterned", "low-contrast", "high-contrast",
        "top", "trousers", "boots", "sandals", "sneakers", "shoe", "shoes",
    });

    static readonly Dictionary<string, int> Ids = Vocabulary.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i);

    [GeneratedRegex(@"[a-z\-]+|,")]
    private static partial Regex Words();

    /// <summary>Token ids of <paramref name="text"/>: start, the words (cut to fit), end, padding to <paramref name="length"/>.</summary>
    public static long[] Encode(string text, int length)
    {
        if (length < 3) throw new GenSharpException($"context length must be ≥ 3, got {length}");
        var ids = new List<long> { Start };
        foreach (Match m in Words().Matches((text ?? "").ToLowerInvariant()))
        {
            if (ids.Count == length - 1) break;
            var w = m.Value switch { "bright" => "light", "big" => "large", var v => v };
            ids.Add(Ids.TryGetValue(w, out int id) ? id : Unknown);
        }
        ids.Add(End);
        while (ids.Count < length) ids.Add(Pad);
        return ids.ToArray();
    }

    /// <summary>Token ids of several texts, (N, length) int64.</summary>
    public static Tensor Encode(IReadOnlyList<string> texts, int length)
    {
        var flat = texts.SelectMany(t => Encode(t, length)).ToArray();
        return torch.tensor(flat, dtype: ScalarType.Int64).reshape(texts.Count, length);
    }

    /// <summary>The words of <paramref name="ids"/> between start and end (for messages and tests).</summary>
    public static string Decode(IEnumerable<long> ids) =>
        string.Join(" ", ids.Where(i => i > Unknown || i == Unknown).TakeWhile(i => i != End).Select(i => Vocabulary[(int)i]));
}
