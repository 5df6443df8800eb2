using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace GenSharp.Text;

/// <summary>
/// Character-level tokenizer: one id per Unicode scalar value (so an emoji outside the BMP is one
/// token, not two UTF-16 halves), vocabulary = the distinct characters of the training text in
/// ordinal order. Characters not in the vocabulary are an error, not a silent replacement.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    readonly Rune[] _vocab;
    readonly byte[][] _bytes;
    readonly Dictionary<Rune, int> _ids;

    /// <summary>A tokenizer over exactly these characters, id = position.</summary>
    public CharTokenizer(IReadOnlyList<Rune> vocabulary)
    {
        if (vocabulary.Count == 0) throw new GenSharpException("a character tokenizer needs at least one character; the training text is empty");
        _vocab = vocabulary.ToArray();
        _ids = new Dictionary<Rune, int>(_vocab.Length);
        for (int i = 0; i < _vocab.Length; i++)
            if (!_ids.TryAdd(_vocab[i], i)) throw new GenSharpException($"character tokenizer: '{_vocab[i]}' appears twice in the vocabulary");
        _bytes = _vocab.Select(r => Encoding.UTF8.GetBytes(r.ToString())).ToArray();
    }

    /// <summary>Vocabulary = the distinct characters of <paramref name="text"/>, sorted by code point.</summary>
    public static CharTokenizer Train(string text)
    {
        var set = new SortedSet<Rune>();
        foreach (var r in text.EnumerateRunes()) set.Add(r);
        return new CharTokenizer(set.ToList());
    }

    public TokenizerKind Kind => TokenizerKind.Char;
    public int VocabSize => _vocab.Length;

    /// <summary>The characters, by id.</summary>
    public IReadOnlyList<Rune> Vocabulary => _vocab;

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length);
        foreach (var r in text.EnumerateRunes())
        {
            // The position counts characters (Unicode scalar values) from 0, as a person counts them: an emoji is one.
            if (!_ids.TryGetValue(r, out int id))
                throw new GenSharpException(
                    $"character {Describe(r)} at position {ids.Count} is not in the character vocabulary learned from the training text " +
                    $"({_vocab.Length} characters); remove it from the input or train with the config field tokenizer=bpe");
            ids.Add(id);
        }
        return ids.ToArray();
    }

    public ReadOnlySpan<byte> TokenBytes(int id) => _bytes[id];

    public JsonObject ToJson() => new()
    {
        ["kind"] = "char",
        ["vocab"] = new JsonArray(_vocab.Select(r => (JsonNode)JsonValue.Create(r.ToString())!).ToArray()),
    };

    /// <summary>Reads the form written by <see cref="ToJson"/>.</summary>
    public static CharTokenizer FromJson(JsonObject json)
    {
        var vocab = json["vocab"] as JsonArray ?? throw new GenSharpException("tokenizer.json: a char tokenizer needs a \"vocab\" array");
        var runes = new List<Rune>(vocab.Count);
        foreach (var node in vocab)
        {
            var s = node?.GetValue<string>() ?? "";
            if (Rune.DecodeFromUtf16(s, out var r, out int used) != System.Buffers.OperationStatus.Done || used != s.Length)
                throw new GenSharpException($"tokenizer.json: vocabulary entry \"{s}\" is not a single character");
            runes.Add(r);
        }
        return new CharTokenizer(runes);
    }

    static string Describe(Rune r) =>
        Rune.IsControl(r) || Rune.IsWhiteSpace(r)
            ? $"U+{r.Value.ToString("X4", CultureInfo.InvariantCulture)}"
            : $"'{r}' (U+{r.Value.ToString("X4", CultureInfo.InvariantCulture)})";
}
