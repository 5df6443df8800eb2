using System.Text;

namespace GenSharp.Text;

/// <summary>
/// The BPE of SentencePiece-converted <c>tokenizer.json</c> files (Llama-2, Mistral, TinyLlama): symbols are
/// Unicode characters with spaces written as "▁", merges apply lowest rank first, and a character missing
/// from the vocabulary falls back to its UTF-8 bytes as the tokens &lt;0x00&gt; … &lt;0xFF&gt; (which never merge).
/// Microsoft.ML.Tokenizers 3.0.0 reads these BPE models only from SentencePiece's protobuf <c>tokenizer.model</c>
/// (its <c>CreateFromTokenizerJson</c> takes Unigram models only), so this small encoder is ours.
/// </summary>
internal sealed class MetaspaceBpe
{
    public const string Space = "▁";

    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<(string, string), int> _rank = new();
    readonly int[]? _byteIds;
    readonly int? _unk;

    public MetaspaceBpe(Dictionary<string, int> vocab, IReadOnlyList<(string A, string B)> merges, bool byteFallback, int? unk, string source)
    {
        _vocab = vocab;
        for (int r = 0; r < merges.Count; r++) _rank.TryAdd(merges[r], r);
        _unk = unk;
        if (byteFallback)
        {
            _byteIds = new int[256];
            for (int b = 0; b < 256; b++)
                _byteIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id
                    : throw new GenSharpException($"{source}: byte_fallback is on but the vocabulary has no <0x{b:X2}> token");
        }
    }

    public IReadOnlyDictionary<string, int> Vocabulary => _vocab;

    /// <summary>The bytes a vocabulary entry stands for: &lt;0xNN&gt; is byte NN, "▁" is a space, anything else its UTF-8.</summary>
    public static byte[] TokenBytes(string token) =>
        token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token.EndsWith('>')
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b)
            ? new[] { b }
            : Encoding.UTF8.GetBytes(token.Replace(Space, " "));

    /// <summary>Ids of one piece (spaces already written as "▁").</summary>
    public int[] Encode(string piece)
    {
        // Symbols: (text, fixed id for byte-fallback tokens that must not merge).
        var symbols = new List<(string Text, int? Fixed)>();
        foreach (var rune in piece.EnumerateRunes())
        {
            var s = rune.ToString();
            if (_vocab.ContainsKey(s)) symbols.Add((s, null));
            else if (_byteIds is not null)
                foreach (var b in Encoding.UTF8.GetBytes(s)) symbols.Add((s, _byteIds[b]));
            else symbols.Add((s, _unk ?? throw new GenSharpException($"the character '{s}' is not in the tokenizer's vocabulary and it has no unk_token")));
        }
        while (symbols.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (symbols[i].Fixed is null && symbols[i + 1].Fixed is null
                    && _rank.TryGetValue((symbols[i].Text, symbols[i + 1].Text), out int r) && r < bestRank)
                { best = i; bestRank = r; }
            if (best < 0) break;
            symbols[best] = (symbols[best].Text + symbols[best + 1].Text, null);
            symbols.RemoveAt(best + 1);
        }
        return symbols.Select(s => s.Fixed ?? (_vocab.TryGetValue(s.Text, out int id) ? id : _unk ?? 0)).ToArray();
    }
}
