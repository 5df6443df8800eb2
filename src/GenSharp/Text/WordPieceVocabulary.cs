using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;

namespace GenSharp.Text;

/// <summary>
/// BERT's WordPiece tokenizer (Wu et al. 2016; Devlin et al. 2019): BERT's basic tokenization (clean-up, lower-casing and
/// accent stripping when the model is uncased, CJK characters apart, splitting at whitespace and punctuation), then the
/// greedy longest-match-first split of each word into vocabulary pieces ("##" marks a continuation). Runs on
/// Microsoft.ML.Tokenizers' <c>BertTokenizer</c> (accents are stripped here first: see <see cref="AccentStripping"/>); this class reads the vocabulary from a <c>vocab.txt</c> or a Hugging Face
/// <c>tokenizer.json</c> of the WordPiece kind and puts [CLS] … [SEP] around a text, truncated to a maximum length.
/// </summary>
public sealed class WordPieceVocabulary
{
    readonly BertTokenizer _bert;
    readonly bool _stripAccents;

    WordPieceVocabulary(BertTokenizer bert, int vocabSize, bool stripAccents)
    {
        _bert = bert;
        VocabSize = vocabSize;
        _stripAccents = stripAccents;
    }

    /// <summary>Number of token ids.</summary>
    public int VocabSize { get; }
    /// <summary>Id of [CLS].</summary>
    public int ClsId => _bert.ClassificationTokenId;
    /// <summary>Id of [SEP].</summary>
    public int SepId => _bert.SeparatorTokenId;
    /// <summary>Id of [PAD].</summary>
    public int PadId => _bert.PaddingTokenId;
    /// <summary>Id of [MASK].</summary>
    public int MaskId => _bert.MaskingTokenId;
    /// <summary>Whether text is lower-cased (an uncased model).</summary>
    public bool LowerCase => _bert.LowerCaseBeforeTokenization;

    /// <summary>A <c>vocab.txt</c> (one token per line, the line number is its id).</summary>
    public static WordPieceVocabulary FromVocabFile(Stream vocab, bool lowerCase = true, string source = "vocab.txt")
    {
        var bytes = ReadAll(vocab);
        int lines = Encoding.UTF8.GetString(bytes).TrimEnd('\n', '\r').Split('\n').Length;
        return Create(bytes, lowerCase, lowerCase, true, lines, source);
    }

    /// <summary>A Hugging Face <c>tokenizer.json</c> whose model is WordPiece (bert-base-uncased, all-MiniLM-L6-v2, ...).</summary>
    public static WordPieceVocabulary FromTokenizerJson(string path)
    {
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new GenSharpException($"{path} is not valid JSON ({e.Message.Split('\n')[0]})"); }
        var model = json["model"]?.AsObject() ?? throw new GenSharpException($"{path} has no model");
        var type = model["type"]?.GetValue<string>();
        if (type != "WordPiece") throw new GenSharpException($"{path}: a {type ?? "(untyped)"} tokenizer, expected WordPiece (BERT)");
        if ((model["continuing_subword_prefix"]?.GetValue<string>() ?? "##") != "##")
            throw new GenSharpException($"{path}: continuing_subword_prefix other than ## is not supported");
        var vocab = model["vocab"]?.AsObject() ?? throw new GenSharpException($"{path} has no model.vocab");
        var tokens = new string[vocab.Count];
        foreach (var (token, id) in vocab)
        {
            int i = id!.GetValue<int>();
            if (i < 0 || i >= tokens.Length || tokens[i] is not null) throw new GenSharpException($"{path}: vocabulary ids are not 0 … {tokens.Length - 1} once each");
            tokens[i] = token;
        }
        // BertNormalizer: lowercase (and strip_accents, which follows lowercase when null), handle_chinese_chars, clean_text.
        var norm = json["normalizer"] as JsonObject;
        bool lower = norm?["lowercase"]?.GetValue<bool>() ?? true;
        bool strip = norm?["strip_accents"]?.GetValue<bool?>() ?? lower;
        bool cjk = norm?["handle_chinese_chars"]?.GetValue<bool>() ?? true;
        return Create(Encoding.UTF8.GetBytes(string.Join("\n", tokens) + "\n"), lower, strip, cjk, tokens.Length, path);
    }

    static WordPieceVocabulary Create(byte[] vocab, bool lower, bool stripAccents, bool cjk, int size, string source)
    {
        try
        {
            var bert = BertTokenizer.Create(new MemoryStream(vocab), new BertOptions
            {
                LowerCaseBeforeTokenization = lower, RemoveNonSpacingMarks = stripAccents, IndividuallyTokenizeCjk = cjk,
                ApplyBasicTokenization = true, SplitOnSpecialTokens = true,
            });
            return new WordPieceVocabulary(bert, size, stripAccents);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        { throw new GenSharpException($"{source}: not a WordPiece vocabulary ({e.Message.Split('\n')[0]})"); }
    }

    static byte[] ReadAll(Stream s)
    {
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    /// <summary>[CLS] pieces [SEP] of <paramref name="text"/>, the pieces cut so the whole fits <paramref name="maxLength"/>.</summary>
    public int[] Encode(string text, int maxLength)
    {
        if (maxLength < 2) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "room for [CLS] and [SEP] is needed");
        var pieces = _bert.EncodeToIds(Prepare(text), false, true, true);
        int n = Math.Min(pieces.Count, maxLength - 2);
        var ids = new int[n + 2];
        ids[0] = ClsId;
        for (int i = 0; i < n; i++) ids[i + 1] = pieces[i];
        ids[n + 1] = SepId;
        return ids;
    }

    /// <summary>Number of WordPiece pieces of <paramref name="text"/>, without [CLS] and [SEP].</summary>
    public int CountTokens(string text) => _bert.CountTokens(Prepare(text));

    // BertTokenizer strips accents by NFD, which InvariantGlobalization turns into a no-op: strip them first.
    string Prepare(string text) => _stripAccents ? AccentStripping.Strip(text) : text;
}
