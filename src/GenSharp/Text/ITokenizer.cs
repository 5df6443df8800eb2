using System.Text.Json.Nodes;

namespace GenSharp.Text;

/// <summary>
/// Text ↔ token ids. Every token stands for a fixed byte string of UTF-8, so a stream of ids can be
/// decoded incrementally (a byte-level BPE token may end inside a multi-byte character).
/// </summary>
public interface ITokenizer
{
    /// <summary>Which kind this is (saved in <c>tokenizer.json</c>).</summary>
    TokenizerKind Kind { get; }

    /// <summary>Number of token ids, 0 … VocabSize − 1.</summary>
    int VocabSize { get; }

    /// <summary>Token ids of <paramref name="text"/>.</summary>
    /// <exception cref="GenSharpException">The text holds something the tokenizer cannot represent.</exception>
    int[] Encode(string text);

    /// <summary>The UTF-8 bytes token <paramref name="id"/> stands for.</summary>
    ReadOnlySpan<byte> TokenBytes(int id);

    /// <summary>The JSON form written to a checkpoint's <c>tokenizer.json</c>.</summary>
    JsonObject ToJson();

    /// <summary>Id of the beginning-of-sequence token, or null when the tokenizer has none.</summary>
    int? BosTokenId => null;

    /// <summary>True when a sequence starts with <see cref="BosTokenId"/> (the text generator puts it before the prompt).</summary>
    bool AddBosToken => false;

    /// <summary>Ids that end a sequence: a generated one stops the row with finish reason "stop" (empty: none).</summary>
    IReadOnlyList<int> EosTokenIds => Array.Empty<int>();
}
