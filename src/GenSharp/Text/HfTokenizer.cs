using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MlBpe = Microsoft.ML.Tokenizers.BpeTokenizer;
using MlBpeOptions = Microsoft.ML.Tokenizers.BpeOptions;

namespace GenSharp.Text;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> of the byte-level BPE kind (GPT-2, Qwen2, Llama-3, SmolLM2) or the
/// SentencePiece-converted Metaspace BPE kind (Llama-2, Mistral, TinyLlama; see <see cref="MetaspaceBpe"/>), with
/// the special tokens of <c>tokenizer_config.json</c>. Added tokens written in the text ("&lt;|im_start|&gt;")
/// encode to their single ids and decode back to their text.
/// </summary>
/// <remarks>
/// Encoding runs in three steps: (1) the text is cut at added tokens (longest first), (2) each plain
/// segment is normalised (NFC when the file says so) and pre-tokenised by the file's pre-tokenizer
/// pipeline (Split regexes, Digits, ByteLevel's GPT-2 regex, each splitting the pieces of the step before),
/// (3) each piece is byte-pair encoded by Microsoft.ML.Tokenizers' <c>BpeTokenizer</c> (ByteLevel on,
/// its own pre-tokenisation off). Step 2 is ours because Microsoft.ML.Tokenizers 3.0.0 has no reader for a
/// BPE <c>tokenizer.json</c> (only for Unigram ones) and takes a single pre-tokenizer regex, while these files chain several
/// splitters (Qwen2: Split + ByteLevel; SmolLM2: Digits + ByteLevel) whose composition is not one regex.
/// Decoding is ours too: a token's bytes come from GPT-2's byte↔character table, which
/// <see cref="ITokenizer.TokenBytes"/> needs per id for incremental decoding.
/// NFC: GenSharp runs with InvariantGlobalization, where .NET's string.Normalize leaves non-ASCII text as it
/// is; text that is already composed (what keyboards and most files give) encodes exactly, decomposed
/// accents ("e" + U+0301) encode as their separate code points instead of the composed one.
/// SentencePiece-style files (Metaspace "▁", &lt;0xNN&gt; byte fallback) are encoded by our <see cref="MetaspaceBpe"/>
/// (Microsoft.ML.Tokenizers reads them only as protobuf <c>tokenizer.model</c>); both layouts (normalizer Prepend +
/// Replace, or pre-tokenizer Metaspace with or without split) encode as Hugging Face <c>tokenizers</c> does
/// (MetaspaceReferenceTests), and decoding keeps the leading space of the prepended "▁".
/// Not supported (a one-line error names it): models other than BPE (WordPiece, Unigram, WordLevel), other
/// normalizers and pre-tokenizers.
/// Ignored: added tokens' lstrip/rstrip/single_word flags, <c>ignore_merges</c> (Llama-3; it only
/// matters for words whose merges do not rebuild their own vocabulary entry).
/// </remarks>
public sealed class HfTokenizer : ITokenizer
{
    /// <summary>GPT-2's pre-tokenizer regex (used by ByteLevel with use_regex true).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, (byte)b)).ToDictionary(p => p.c, p => p.Item2);

    readonly MlBpe? _bpe;
    readonly MetaspaceBpe? _spm;
    readonly string? _prepend;                         // SentencePiece style: "▁" put before every segment (or the first only)
    readonly bool _prependFirstOnly;
    readonly bool _prependUnlessSpace;                 // Metaspace pre-tokenizer: no "▁" before text that starts with one
    readonly bool _splitAtSpaces;                      // Metaspace split: every "▁" starts a word, so no token spans two "▁"
    readonly byte[][] _bytes;
    readonly List<Regex> _splitters;
    readonly bool _addPrefixSpace;
    readonly bool _nfc;
    readonly (string Text, int Id)[] _added;          // longest first
    readonly Regex? _addedPattern;
    readonly Dictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    readonly byte[] _source;                           // the tokenizer.json, as UTF-8 (its parsed form is ~6× the size)

    HfTokenizer(MlBpe? bpe, byte[][] bytes, List<Regex> splitters, bool addPrefixSpace, bool nfc,
        IEnumerable<(string, int)> added, JsonObject source, MetaspaceBpe? spm = null, string? prepend = null, bool prependFirstOnly = false,
        bool prependUnlessSpace = false, bool splitAtSpaces = false)
    {
        _splitAtSpaces = splitAtSpaces;
        _bpe = bpe;
        _spm = spm;
        _prepend = prepend;
        _prependFirstOnly = prependFirstOnly;
        _prependUnlessSpace = prependUnlessSpace;
        _bytes = bytes;
        _splitters = splitters;
        _addPrefixSpace = addPrefixSpace;
        _nfc = nfc;
        _added = added.OrderByDescending(a => a.Item1.Length).ToArray();
        _addedPattern = _added.Length == 0 ? null
            : new Regex(string.Join("|", _added.Select(a => Regex.Escape(a.Text))), RegexOptions.CultureInvariant);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer)) source.WriteTo(writer);
        _source = buffer.WrittenSpan.ToArray();
    }

    public TokenizerKind Kind => TokenizerKind.HuggingFace;
    public int VocabSize => _bytes.Length;

    /// <summary>Id of the beginning-of-sequence token, when the tokenizer has one.</summary>
    public int? BosTokenId { get; private set; }

    /// <summary>Whether <see cref="Encode"/>'s caller should put <see cref="BosTokenId"/> first (tokenizer_config's add_bos_token, or a post-processor template that starts with it).</summary>
    public bool AddBosToken { get; private set; }

    /// <summary>Ids that end a generated sequence (config.json, generation_config.json, tokenizer_config.json).</summary>
    public IReadOnlyList<int> EosTokenIds { get; private set; } = Array.Empty<int>();

    /// <summary>Ids of the added tokens by their text.</summary>
    public int? IdOf(string token)
    {
        foreach (var (t, id) in _added) if (t == token) return id;
        if (_spm is not null) return _spm.Vocabulary.TryGetValue(token, out int sid) ? sid : null;
        var mapped = string.Concat(Encoding.UTF8.GetBytes(token).Select(b => ByteToChar[b]));
        return _bpe!.Vocabulary.TryGetValue(mapped, out int v) ? v : null;
    }

    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 1);
        int at = 0;
        if (_addedPattern is not null)
            foreach (Match m in _addedPattern.Matches(text))
            {
                EncodePlain(text[at..m.Index], ids, at == 0);
                ids.Add(_added.First(a => a.Text == m.Value).Id);
                at = m.Index + m.Length;
            }
        EncodePlain(text[at..], ids, at == 0);
        return ids.ToArray();
    }

    void EncodePlain(string segment, List<int> ids, bool atStart)
    {
        if (segment.Length == 0) return;
        if (_nfc) segment = segment.Normalize(NormalizationForm.FormC);
        if (_spm is not null)
        {
            EncodeMetaspace(segment, ids, atStart);
            return;
        }
        if (_addPrefixSpace && atStart && !char.IsWhiteSpace(segment[0])) segment = " " + segment;
        IEnumerable<string> pieces = new[] { segment };
        foreach (var splitter in _splitters)
            pieces = pieces.SelectMany(p => SplitIsolated(splitter, p)).ToList();
        foreach (var piece in pieces)
        {
            if (!_cache.TryGetValue(piece, out var pieceIds))
            {
                pieceIds = _bpe!.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false).ToArray();
                if (_cache.Count < 1_000_000) _cache[piece] = pieceIds;
            }
            ids.AddRange(pieceIds);
        }
    }

    /// <summary>
    /// SentencePiece style: spaces become "▁", a "▁" goes first (the Prepend normalizer always puts one; the Metaspace
    /// pre-tokenizer none before text that already starts with "▁"), and the text is cut before each run of "▁" that
    /// follows another character (these vocabularies hold no token with "▁" after another character, so no
    /// merge crosses the cut; it keeps BPE's quadratic loop to word-sized pieces) or, for Metaspace with split, before
    /// every "▁".
    /// </summary>
    void EncodeMetaspace(string segment, List<int> ids, bool atStart)
    {
        segment = segment.Replace(" ", MetaspaceBpe.Space);
        if (_prepend is not null && (atStart || !_prependFirstOnly) && !(_prependUnlessSpace && segment.StartsWith(_prepend, StringComparison.Ordinal)))
            segment = _prepend + segment;
        foreach (Match m in (_splitAtSpaces ? SpaceWords : SpacePieces).Matches(segment))
        {
            if (!_cache.TryGetValue(m.Value, out var pieceIds))
            {
                pieceIds = _spm!.Encode(m.Value);
                if (_cache.Count < 1_000_000) _cache[m.Value] = pieceIds;
            }
            ids.AddRange(pieceIds);
        }
    }

    static readonly Regex SpacePieces = new("▁*[^▁]+|▁+", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Metaspace with split: the text is cut before every "▁" (each "▁" joins the word after it; tokenizers' MergedWithNext).</summary>
    static readonly Regex SpaceWords = new("▁?[^▁]+|▁", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>HF's Split with behavior "Isolated": every match is a piece and so is every gap between matches.</summary>
    static IEnumerable<string> SplitIsolated(Regex regex, string text)
    {
        int at = 0;
        foreach (Match m in regex.Matches(text))
        {
            if (m.Length == 0) continue;
            if (m.Index > at) yield return text[at..m.Index];
            yield return m.Value;
            at = m.Index + m.Length;
        }
        if (at < text.Length) yield return text[at..];
    }

    public ReadOnlySpan<byte> TokenBytes(int id) => _bytes[id];

    /// <summary>The tokenizer.json this tokenizer was read from (the HF form, not GenSharp's).</summary>
    public JsonObject ToJson() => JsonNode.Parse(_source)!.AsObject();

    /// <summary>
    /// Reads <c>tokenizer.json</c> of a Hugging Face model folder, with <c>tokenizer_config.json</c> (special
    /// tokens, add_bos_token) when present. <paramref name="vocabSize"/> pads the id range to the model's
    /// embedding rows (ids past the tokenizer decode to nothing); <paramref name="extraEosIds"/> adds the
    /// end-of-sequence ids of config.json / generation_config.json.
    /// </summary>
    public static HfTokenizer Load(string folder, int vocabSize = 0, IEnumerable<int>? extraEosIds = null)
    {
        var file = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(file))
        {
            string hint = File.Exists(Path.Combine(folder, "vocab.json")) || File.Exists(Path.Combine(folder, "tokenizer.model"))
                ? " (only vocab.json/merges.txt or tokenizer.model is there: GenSharp reads the tokenizer.json form; download tokenizer.json from the same model page)"
                : "";
            throw new GenSharpException($"{file} not found; a Hugging Face model folder needs its tokenizer.json{hint}");
        }
        var json = ReadJson(file);
        var configFile = Path.Combine(folder, "tokenizer_config.json");
        var tokConfig = File.Exists(configFile) ? ReadJson(configFile) : new JsonObject();
        return FromJson(json, tokConfig, vocabSize, extraEosIds, file);
    }

    internal static JsonObject ReadJson(string file)
    {
        try { return JsonNode.Parse(File.ReadAllText(file))?.AsObject() ?? throw new JsonException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new GenSharpException($"{file} is not valid JSON ({e.Message.Split('\n')[0]})"); }
    }

    /// <summary>Builds the tokenizer from the parsed tokenizer.json and tokenizer_config.json.</summary>
    public static HfTokenizer FromJson(JsonObject json, JsonObject tokenizerConfig, int vocabSize = 0,
        IEnumerable<int>? extraEosIds = null, string source = "tokenizer.json")
    {
        var model = json["model"] as JsonObject ?? throw new GenSharpException($"{source} has no \"model\" object");
        var type = model["type"]?.GetValue<string>() ?? "BPE";
        if (type != "BPE")
            throw new GenSharpException($"{source}: tokenizer model type \"{type}\" is not supported (GenSharp reads byte-level BPE tokenizers: GPT-2, Qwen2, Llama-3, SmolLM2)");
        bool byteLevel = Mentions(json["pre_tokenizer"], "ByteLevel") || Mentions(json["decoder"], "ByteLevel");
        if (!byteLevel)
        {
            bool sentencePiece = Mentions(json["pre_tokenizer"], "Metaspace") || Mentions(json["decoder"], "ByteFallback")
                || Mentions(json["normalizer"], "Prepend") || model["byte_fallback"]?.GetValue<bool>() == true;
            if (sentencePiece) return FromSentencePieceJson(json, model, tokenizerConfig, vocabSize, extraEosIds, source);
            throw new GenSharpException($"{source} has no ByteLevel pre-tokenizer or decoder and is not SentencePiece-style (Metaspace); GenSharp reads byte-level BPE (GPT-2, Qwen2, Llama-3, SmolLM2) and Metaspace BPE (Llama-2, Mistral)");
        }
        bool nfc = false;
        if (json["normalizer"] is JsonObject norm)
        {
            var nt = norm["type"]?.GetValue<string>();
            if (nt == "NFC") nfc = true;
            else throw new GenSharpException($"{source}: normalizer \"{nt}\" is not supported (only none or NFC)");
        }
        var (splitters, addPrefixSpace) = PreTokenizers(json["pre_tokenizer"], source);

        var vocabNode = model["vocab"] as JsonObject ?? throw new GenSharpException($"{source}: model.vocab must be an object of token → id");
        var vocab = new Dictionary<string, int>(vocabNode.Count, StringComparer.Ordinal);
        foreach (var (token, id) in vocabNode) vocab[token] = id!.GetValue<int>();
        var merges = new List<string>();
        foreach (var m in model["merges"] as JsonArray ?? new JsonArray())
            merges.Add(m switch
            {
                JsonArray { Count: 2 } pair => pair[0]!.GetValue<string>() + " " + pair[1]!.GetValue<string>(),   // newer files: ["a", "b"]
                JsonValue v => v.GetValue<string>(),                                                             // older files: "a b"
                _ => throw new GenSharpException($"{source}: each merge must be \"a b\" or [\"a\", \"b\"]"),
            });

        var added = new List<(string, int)>();
        foreach (var a in json["added_tokens"] as JsonArray ?? new JsonArray())
        {
            var content = a?["content"]?.GetValue<string>();
            var id = a?["id"]?.GetValue<int>();
            if (content is { Length: > 0 } && id is { } i) added.Add((content, i));
        }

        // Byte-level BPE: vocabulary strings are bytes written with GPT-2's printable stand-ins ('Ġ' = space).
        var bpe = MlBpe.Create(new MlBpeOptions(vocab) { Merges = merges, ByteLevel = true });
        int size = Math.Max(vocabSize, Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(a => a.Item2) + 1));
        var bytes = new byte[size][];
        for (int i = 0; i < size; i++) bytes[i] = Array.Empty<byte>();
        foreach (var (token, id) in vocab)
        {
            if (id < 0) throw new GenSharpException($"{source}: token \"{token}\" has a negative id");
            bytes[id] = TokenToBytes(token);
        }
        foreach (var (content, id) in added) bytes[id] = Encoding.UTF8.GetBytes(content);

        var tok = new HfTokenizer(bpe, bytes, splitters, addPrefixSpace, nfc, added, json);
        tok.ReadSpecials(json, tokenizerConfig, extraEosIds ?? Array.Empty<int>(), source);
        return tok;
    }

    /// <summary>SentencePiece-converted BPE: Metaspace "▁" for spaces, &lt;0xNN&gt; byte fallback (Llama-2, Mistral, TinyLlama).</summary>
    static HfTokenizer FromSentencePieceJson(JsonObject json, JsonObject model, JsonObject tokenizerConfig, int vocabSize,
        IEnumerable<int>? extraEosIds, string source)
    {
        string? prepend = null;
        bool firstOnly = false, unlessSpace = false, split = false;
        // Newer files: normalizer Sequence [Prepend "▁", Replace " " → "▁"]; older: pre_tokenizer Metaspace.
        foreach (var n in Flatten(json["normalizer"], "normalizers"))
        {
            var t = n["type"]?.GetValue<string>();
            if (t == "Prepend") prepend = n["prepend"]?.GetValue<string>();
            else if (t == "Replace" && n["pattern"]?["String"]?.GetValue<string>() == " " && n["content"]?.GetValue<string>() == MetaspaceBpe.Space) { }
            else throw new GenSharpException($"{source}: normalizer \"{t}\" is not supported in a SentencePiece-style tokenizer (Prepend, Replace \" \" → \"▁\")");
        }
        foreach (var p in Flatten(json["pre_tokenizer"], "pretokenizers"))
        {
            var t = p["type"]?.GetValue<string>();
            if (t != "Metaspace") throw new GenSharpException($"{source}: pre-tokenizer \"{t}\" is not supported in a SentencePiece-style tokenizer (Metaspace)");
            var scheme = p["prepend_scheme"]?.GetValue<string>() ?? ((p["add_prefix_space"]?.GetValue<bool>() ?? true) ? "always" : "never");
            prepend = scheme == "never" ? null : MetaspaceBpe.Space;
            firstOnly = scheme == "first";
            unlessSpace = true;                                                  // unlike the Prepend normalizer
            split = p["split"]?.GetValue<bool>() ?? true;                        // absent in older files: tokenizers reads it as true
        }
        var vocabNode = model["vocab"] as JsonObject ?? throw new GenSharpException($"{source}: model.vocab must be an object of token → id");
        var vocab = new Dictionary<string, int>(vocabNode.Count, StringComparer.Ordinal);
        foreach (var (token, id) in vocabNode) vocab[token] = id!.GetValue<int>();
        var merges = new List<(string, string)>();
        foreach (var m in model["merges"] as JsonArray ?? new JsonArray())
        {
            if (m is JsonArray { Count: 2 } pair) merges.Add((pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()));
            else
            {
                var text = m!.GetValue<string>();
                int cut = text.IndexOf(' ', 1);                                  // tokens hold "▁", never a space
                if (cut < 0) throw new GenSharpException($"{source}: merge \"{text}\" is not \"a b\"");
                merges.Add((text[..cut], text[(cut + 1)..]));
            }
        }
        int? unk = model["unk_token"]?.GetValue<string>() is { } u && vocab.TryGetValue(u, out int uid) ? uid : null;
        var spm = new MetaspaceBpe(vocab, merges, model["byte_fallback"]?.GetValue<bool>() ?? false, unk, source);
        var added = new List<(string, int)>();
        foreach (var a in json["added_tokens"] as JsonArray ?? new JsonArray())
            if (a?["content"]?.GetValue<string>() is { Length: > 0 } content && a["id"]?.GetValue<int>() is { } i) added.Add((content, i));
        int size = Math.Max(vocabSize, Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, added.Count == 0 ? 0 : added.Max(x => x.Item2) + 1));
        var bytes = new byte[size][];
        for (int i = 0; i < size; i++) bytes[i] = Array.Empty<byte>();
        foreach (var (token, id) in vocab) bytes[id] = MetaspaceBpe.TokenBytes(token);
        foreach (var (content, id) in added) bytes[id] = Encoding.UTF8.GetBytes(content);
        var tok = new HfTokenizer(null, bytes, new List<Regex>(), false, false, added, json, spm, prepend, firstOnly, unlessSpace, split);
        tok.ReadSpecials(json, tokenizerConfig, extraEosIds ?? Array.Empty<int>(), source);
        return tok;
    }

    static IEnumerable<JsonObject> Flatten(JsonNode? node, string listKey)
    {
        if (node is not JsonObject o) yield break;
        if (o["type"]?.GetValue<string>() == "Sequence")
        {
            foreach (var child in o[listKey] as JsonArray ?? new JsonArray())
                foreach (var x in Flatten(child, listKey)) yield return x;
        }
        else yield return o;
    }

    void ReadSpecials(JsonObject json, JsonObject config, IEnumerable<int> extraEos, string source)
    {
        int? bos = TokenText(config["bos_token"]) is { } b ? IdOf(b) : null;
        bool addBos = config["add_bos_token"]?.GetValue<bool>() ?? false;
        // Llama-3 files add BOS through a TemplateProcessing post-processor instead of add_bos_token.
        if (config["add_bos_token"] is null && json["post_processor"] is JsonObject post)
        {
            var first = FindTemplate(post)?.FirstOrDefault();
            if (first?["SpecialToken"]?["id"]?.GetValue<string>() is { } special && IdOf(special) is { } sid)
            {
                bos = sid;
                addBos = true;
            }
        }
        if (addBos && bos is null)
            throw new GenSharpException($"{source}: add_bos_token is true but the tokenizer has no bos_token; set bos_token in tokenizer_config.json");
        BosTokenId = bos;
        AddBosToken = addBos;
        var eos = new List<int>(extraEos);
        if (TokenText(config["eos_token"]) is { } e && IdOf(e) is { } eid) eos.Add(eid);
        EosTokenIds = eos.Where(i => i >= 0 && i < VocabSize).Distinct().ToArray();
    }

    static JsonArray? FindTemplate(JsonObject post)
    {
        if (post["type"]?.GetValue<string>() == "TemplateProcessing") return post["single"] as JsonArray;
        if (post["processors"] is JsonArray list)
            foreach (var p in list)
                if (p is JsonObject o && FindTemplate(o) is { } t) return t;
        return null;
    }

    /// <summary>A special token in tokenizer_config.json: a string or {"content": ...}.</summary>
    static string? TokenText(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    static bool Mentions(JsonNode? node, string type) => node switch
    {
        JsonObject o => o["type"]?.GetValue<string>() == type || o.Any(kv => kv.Value is JsonArray or JsonObject && Mentions(kv.Value, type)),
        JsonArray a => a.Any(n => Mentions(n, type)),
        _ => false,
    };

    /// <summary>The pre-tokenizer pipeline as splitting regexes, in order.</summary>
    static (List<Regex> Splitters, bool AddPrefixSpace) PreTokenizers(JsonNode? node, string source)
    {
        var list = new List<Regex>();
        bool prefix = false;
        void Add(JsonObject p)
        {
            var t = p["type"]?.GetValue<string>();
            switch (t)
            {
                case "Sequence":
                    foreach (var q in p["pretokenizers"] as JsonArray ?? new JsonArray()) Add((JsonObject)q!);
                    break;
                case "ByteLevel":
                    prefix |= p["add_prefix_space"]?.GetValue<bool>() ?? false;
                    if (p["use_regex"]?.GetValue<bool>() ?? true) list.Add(Compile(Gpt2Pattern));
                    break;
                case "Digits":
                    list.Add(Compile(p["individual_digits"]?.GetValue<bool>() == true ? @"\p{N}" : @"\p{N}+"));
                    break;
                case "Split":
                    var behavior = p["behavior"]?.GetValue<string>() ?? "Isolated";
                    if (behavior != "Isolated" || p["invert"]?.GetValue<bool>() == true)
                        throw new GenSharpException($"{source}: Split pre-tokenizer with behavior \"{behavior}\"{(p["invert"]?.GetValue<bool>() == true ? " and invert" : "")} is not supported (only Isolated)");
                    var pattern = p["pattern"]?["Regex"]?.GetValue<string>()
                        ?? (p["pattern"]?["String"]?.GetValue<string>() is { } s ? Regex.Escape(s) : null)
                        ?? throw new GenSharpException($"{source}: Split pre-tokenizer without a pattern");
                    list.Add(Compile(pattern));
                    break;
                default:
                    throw new GenSharpException($"{source}: pre-tokenizer \"{t}\" is not supported (ByteLevel, Split, Digits, Sequence are)");
            }
        }
        if (node is JsonObject root) Add(root);
        return (list, prefix);

        Regex Compile(string pattern)
        {
            try { return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new GenSharpException($"{source}: pre-tokenizer regex is not valid in .NET ({e.Message})"); }
        }
    }

    static byte[] TokenToBytes(string token)
    {
        var bytes = new List<byte>(token.Length);
        foreach (var c in token)
        {
            if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));    // not a byte stand-in: the character itself
        }
        return bytes.ToArray();
    }

    /// <summary>
    /// GPT-2's reversible byte → printable character table: the printable Latin-1 bytes ('!'…'~',
    /// '¡'…'¬', '®'…'ÿ') stand for themselves, the other 68 bytes for U+0100, U+0101, … in byte order.
    /// </summary>
    static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)(256 + next++);
        }
        return table;
    }
}
