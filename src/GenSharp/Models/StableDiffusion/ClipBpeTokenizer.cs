using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace GenSharp.Models.StableDiffusion;

/// <summary>
/// The byte-level BPE of OpenAI's CLIP as shipped in a Stable Diffusion folder's <c>tokenizer/</c> (<c>vocab.json</c>,
/// <c>merges.txt</c>, <c>tokenizer_config.json</c>): text is NFC-normalised, runs of whitespace become one space, and it
/// is lower-cased; it is cut into special tokens, contractions, letter runs, single digits and other-symbol runs
/// (whitespace dropped); each chunk's UTF-8 bytes map to printable characters (the GPT-2 byte alphabet); the last symbol
/// of each chunk carries the end-of-word mark <c>&lt;/w&gt;</c>; merges apply lowest rank first.
/// <see cref="Encode"/> gives the fixed-length row the text encoder reads: start token, at most 75 ids, end token, pad.
/// </summary>
public sealed class ClipBpeTokenizer
{
    const string EndOfWord = "</w>";
    static readonly Regex Chunks = new(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);
    static readonly Regex Spaces = new(@"\s+", RegexOptions.Compiled);

    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<(string, string), int> _ranks;
    readonly string[] _byteChars = ByteAlphabet();
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <summary>A tokenizer from a vocabulary and the ranked merges.</summary>
    public ClipBpeTokenizer(IReadOnlyDictionary<string, int> vocab, IReadOnlyList<(string A, string B)> merges,
        string bos = "<|startoftext|>", string eos = "<|endoftext|>", string pad = "<|endoftext|>", int maxLength = 77)
    {
        _vocab = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        _ranks = new Dictionary<(string, string), int>();
        for (int r = 0; r < merges.Count; r++) _ranks.TryAdd(merges[r], r);
        BosId = Id(bos, "bos_token"); EosId = Id(eos, "eos_token"); PadId = Id(pad, "pad_token");
        if (maxLength < 2) throw new GenSharpException($"tokenizer model_max_length must be ≥ 2, got {maxLength}");
        MaxLength = maxLength;
        VocabSize = _vocab.Values.Max() + 1;
    }

    int Id(string token, string what) => _vocab.TryGetValue(token, out var id) ? id
        : throw new GenSharpException($"tokenizer: the {what} \"{token}\" is not in vocab.json");

    /// <summary>Id of the start token.</summary>
    public int BosId { get; }
    /// <summary>Id of the end token.</summary>
    public int EosId { get; }
    /// <summary>Id that fills the row after the end token (the end token in SD 1.x, "!" in SD 2.x).</summary>
    public int PadId { get; }
    /// <summary>Row length (77 for every released Stable Diffusion).</summary>
    public int MaxLength { get; }
    /// <summary>One more than the largest id.</summary>
    public int VocabSize { get; }

    /// <summary>Reads <c>vocab.json</c>, <c>merges.txt</c> and (optionally) <c>tokenizer_config.json</c> from <paramref name="folder"/>.</summary>
    public static ClipBpeTokenizer Load(string folder)
    {
        var vocabFile = Path.Combine(folder, "vocab.json");
        var mergesFile = Path.Combine(folder, "merges.txt");
        var vocabJson = SdJson.Read(vocabFile);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (k, v) in vocabJson)
        {
            try { vocab[k] = v!.GetValue<int>(); }
            catch (Exception) { throw new GenSharpException($"{vocabFile}: the id of \"{k}\" is not an integer"); }
        }
        if (!File.Exists(mergesFile)) throw new GenSharpException($"{mergesFile} not found; download the tokenizer folder's merges.txt");
        var merges = new List<(string, string)>();
        foreach (var line in File.ReadLines(mergesFile))
        {
            if (line.StartsWith("#version") || line.Length == 0) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2) throw new GenSharpException($"{mergesFile}: line \"{line}\" is not two symbols separated by a space");
            merges.Add((parts[0], parts[1]));
        }
        string bos = "<|startoftext|>", eos = "<|endoftext|>", pad = "<|endoftext|>";
        int max = 77;
        var cfgFile = Path.Combine(folder, "tokenizer_config.json");
        if (File.Exists(cfgFile))
        {
            var c = SdJson.Read(cfgFile);
            bos = TokenText(c["bos_token"]) ?? bos; eos = TokenText(c["eos_token"]) ?? eos; pad = TokenText(c["pad_token"]) ?? pad;
            // Some folders store a huge sentinel here; CLIP's positions stop at 77.
            if (c["model_max_length"] is JsonValue m && m.TryGetValue<double>(out var d) && d >= 2 && d <= 77) max = (int)d;
        }
        return new ClipBpeTokenizer(vocab, merges, bos, eos, pad, max);
    }

    static string? TokenText(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    /// <summary>The ids of <paramref name="text"/> without start, end or padding.</summary>
    public IReadOnlyList<int> Tokenize(string text)
    {
        var ids = new List<int>();
        var normal = Spaces.Replace((text ?? "").Normalize(NormalizationForm.FormC), " ").ToLowerInvariant();
        foreach (Match m in Chunks.Matches(normal))
        {
            if (_vocab.TryGetValue(m.Value, out var special) && m.Value.StartsWith("<|")) { ids.Add(special); continue; }
            if (!_cache.TryGetValue(m.Value, out var word))
                _cache[m.Value] = word = Bpe(string.Concat(Encoding.UTF8.GetBytes(m.Value).Select(b => _byteChars[b])));
            ids.AddRange(word);
        }
        return ids;
    }

    /// <summary>(start, ≤ MaxLength−2 ids, end, pad…): exactly <see cref="MaxLength"/> ids; longer prompts are cut.</summary>
    public int[] Encode(string text)
    {
        var ids = Tokenize(text);
        var row = new int[MaxLength];
        Array.Fill(row, PadId);
        row[0] = BosId;
        int n = Math.Min(ids.Count, MaxLength - 2);
        for (int i = 0; i < n; i++) row[1 + i] = ids[i];
        row[1 + n] = EosId;
        return row;
    }

    int[] Bpe(string chunk)
    {
        // Symbols as strings (the vocabulary's keys); the last one carries the end-of-word mark.
        var symbols = new List<string>();
        var e = StringInfoElements(chunk);
        for (int i = 0; i < e.Count; i++) symbols.Add(i == e.Count - 1 ? e[i] + EndOfWord : e[i]);
        while (symbols.Count > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < best) { best = r; at = i; }
            if (at < 0) break;
            var (a, b) = (symbols[at], symbols[at + 1]);
            var merged = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == a && symbols[i + 1] == b) { merged.Add(a + b); i++; }
                else merged.Add(symbols[i]);
            }
            symbols = merged;
        }
        return symbols.Select(s => _vocab.TryGetValue(s, out var id) ? id : EosId).ToArray();   // CLIP's unk is its end token
    }

    // Characters of the byte alphabet are all in the BMP, so each symbol is one char.
    static List<string> StringInfoElements(string s) => s.Select(c => c.ToString()).ToList();

    /// <summary>GPT-2's reversible map from bytes to printable characters: printable Latin-1 bytes map to themselves, the rest to 256 + n.</summary>
    static string[] ByteAlphabet()
    {
        var map = new string[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = ((char)(printable ? b : 256 + n++)).ToString();
        }
        return map;
    }
}
