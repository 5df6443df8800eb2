using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GenSharp.Text;

/// <summary>
/// Byte-level byte-pair encoding (Sennrich et al. 2016, on bytes as in GPT-2): ids 0–255 are the
/// bytes, id 256 + r is the r-th learned merge of two existing ids. Any UTF-8 text encodes, nothing is
/// unknown, and decoding is the concatenation of the tokens' bytes. Text is first cut into chunks
/// (letters, digits, other symbols, whitespace; a leading space stays with the word) and merges never
/// cross a chunk boundary, so " the" and "the" become tokens rather than "e t".
/// </summary>
/// <remarks>
/// Microsoft.ML.Tokenizers 3.0.0 loads BPE vocabularies but has no trainer (no public type or member trains;
/// only its 0.2x previews had a BpeTrainer), so GenSharp learns the merges itself (<see cref="Train"/>) and stores
/// them in <c>tokenizer.json</c>.
/// </remarks>
public sealed class BpeTokenizer : ITokenizer
{
    /// <summary>Chunking pattern used by new tokenizers (stored with each tokenizer, so it can change later).</summary>
    public const string DefaultPattern = @"'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    readonly (int A, int B)[] _merges;
    readonly Dictionary<(int, int), int> _rank;
    readonly byte[][] _bytes;
    readonly Regex _chunker;
    readonly string _pattern;
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>A tokenizer with these merges (merge r creates id 256 + r) and chunking pattern.</summary>
    public BpeTokenizer(IReadOnlyList<(int A, int B)> merges, string pattern = DefaultPattern)
    {
        _merges = merges.ToArray();
        _pattern = pattern;
        _chunker = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        _rank = new Dictionary<(int, int), int>(_merges.Length);
        _bytes = new byte[256 + _merges.Length][];
        for (int b = 0; b < 256; b++) _bytes[b] = new[] { (byte)b };
        for (int r = 0; r < _merges.Length; r++)
        {
            var (a, c) = _merges[r];
            int id = 256 + r;
            if (a < 0 || c < 0 || a >= id || c >= id)
                throw new GenSharpException($"tokenizer.json: merge {r} ({a}, {c}) refers to an id that does not exist yet");
            if (!_rank.TryAdd((a, c), r)) throw new GenSharpException($"tokenizer.json: merge ({a}, {c}) appears twice");
            _bytes[id] = _bytes[a].Concat(_bytes[c]).ToArray();
        }
    }

    public TokenizerKind Kind => TokenizerKind.Bpe;
    public int VocabSize => 256 + _merges.Length;

    /// <summary>The learned merges in order.</summary>
    public IReadOnlyList<(int A, int B)> Merges => _merges;

    /// <summary>
    /// Learns merges on <paramref name="text"/> until the vocabulary has <paramref name="vocabSize"/>
    /// ids or no pair occurs twice. Greedy: each round merges the most frequent adjacent pair (ties: the
    /// smallest pair of ids, so training is deterministic). Pair counts are updated only in the chunks
    /// that hold the merged pair.
    /// </summary>
    public static BpeTokenizer Train(string text, int vocabSize, string pattern = DefaultPattern)
    {
        if (vocabSize < 256) throw new GenSharpException($"bpe_vocab_size must be ≥ 256 (the byte alphabet), got {vocabSize}");
        var chunker = new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Match m in chunker.Matches(text))
            counts[m.Value] = counts.GetValueOrDefault(m.Value) + 1;

        var words = new List<List<int>>(counts.Count);
        var freq = new List<long>(counts.Count);
        foreach (var (chunk, n) in counts)
        {
            words.Add(Encoding.UTF8.GetBytes(chunk).Select(b => (int)b).ToList());
            freq.Add(n);
        }
        var pairs = new Dictionary<(int, int), long>();
        var where = new Dictionary<(int, int), HashSet<int>>();
        for (int w = 0; w < words.Count; w++) AddPairs(w, +1);

        var merges = new List<(int, int)>();
        while (256 + merges.Count < vocabSize)
        {
            (int, int) best = default;
            long bestCount = 1; // a pair seen once saves nothing
            foreach (var (p, n) in pairs)
                if (n > bestCount || (n == bestCount && n > 1 && p.CompareTo(best) < 0)) { best = p; bestCount = n; }
            if (bestCount < 2) break;
            int id = 256 + merges.Count;
            merges.Add(best);
            foreach (int w in where[best].ToArray())
            {
                AddPairs(w, -1);
                words[w] = MergePair(words[w], best, id);
                AddPairs(w, +1);
            }
            pairs.Remove(best);
            where.Remove(best);
        }
        return new BpeTokenizer(merges, pattern);

        void AddPairs(int w, int sign)
        {
            var s = words[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                var p = (s[i], s[i + 1]);
                long n = pairs.GetValueOrDefault(p) + sign * freq[w];
                if (n == 0) pairs.Remove(p); else pairs[p] = n;
                if (sign > 0)
                {
                    if (!where.TryGetValue(p, out var set)) where[p] = set = new HashSet<int>();
                    set.Add(w);
                }
            }
        }
    }

    static List<int> MergePair(List<int> s, (int A, int B) pair, int id)
    {
        var merged = new List<int>(s.Count);
        for (int i = 0; i < s.Count; i++)
        {
            if (i + 1 < s.Count && s[i] == pair.A && s[i + 1] == pair.B) { merged.Add(id); i++; }
            else merged.Add(s[i]);
        }
        return merged;
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 2);
        foreach (Match m in _chunker.Matches(text))
        {
            if (!_cache.TryGetValue(m.Value, out var chunkIds))
            {
                chunkIds = EncodeChunk(m.Value);
                if (_cache.Count < 1_000_000) _cache[m.Value] = chunkIds;
            }
            ids.AddRange(chunkIds);
        }
        return ids.ToArray();
    }

    /// <summary>Applies merges in the order they were learned: always the lowest-ranked adjacent pair first.</summary>
    int[] EncodeChunk(string chunk)
    {
        var s = Encoding.UTF8.GetBytes(chunk).Select(b => (int)b).ToList();
        while (s.Count > 1)
        {
            int bestRank = int.MaxValue;
            for (int i = 0; i + 1 < s.Count; i++)
                if (_rank.TryGetValue((s[i], s[i + 1]), out int r) && r < bestRank) bestRank = r;
            if (bestRank == int.MaxValue) break;
            s = MergePair(s, _merges[bestRank], 256 + bestRank);
        }
        return s.ToArray();
    }

    public ReadOnlySpan<byte> TokenBytes(int id) => _bytes[id];

    public JsonObject ToJson() => new()
    {
        ["kind"] = "bpe",
        ["pattern"] = _pattern,
        ["merges"] = new JsonArray(_merges.Select(m => (JsonNode)new JsonArray(m.A, m.B)).ToArray()),
    };

    /// <summary>Reads the form written by <see cref="ToJson"/>.</summary>
    public static BpeTokenizer FromJson(JsonObject json)
    {
        var list = json["merges"] as JsonArray ?? throw new GenSharpException("tokenizer.json: a bpe tokenizer needs a \"merges\" array");
        var merges = new List<(int, int)>(list.Count);
        foreach (var node in list)
        {
            if (node is not JsonArray { Count: 2 } pair) throw new GenSharpException("tokenizer.json: each merge must be a pair of ids [a, b]");
            merges.Add((pair[0]!.GetValue<int>(), pair[1]!.GetValue<int>()));
        }
        return new BpeTokenizer(merges, json["pattern"]?.GetValue<string>() ?? DefaultPattern);
    }
}
