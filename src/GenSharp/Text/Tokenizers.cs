using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;

namespace GenSharp.Text;

/// <summary>Creating, saving, loading and decoding tokenizers.</summary>
public static class Tokenizers
{
    /// <summary>File name of the tokenizer inside a checkpoint folder.</summary>
    public const string FileName = "tokenizer.json";

    /// <summary>Learns a tokenizer of <paramref name="kind"/> on <paramref name="text"/>.</summary>
    public static ITokenizer Train(TokenizerKind kind, string text, int bpeVocabSize) => kind switch
    {
        TokenizerKind.Char => CharTokenizer.Train(text),
        TokenizerKind.Bpe => BpeTokenizer.Train(text, bpeVocabSize),
        _ => throw new GenSharpException($"unknown tokenizer kind {kind}"),
    };

    /// <summary>Reads the JSON written by <see cref="ITokenizer.ToJson"/>.</summary>
    public static ITokenizer FromJson(JsonObject json) => json["kind"]?.GetValue<string>() switch
    {
        "char" => CharTokenizer.FromJson(json),
        "bpe" => BpeTokenizer.FromJson(json),
        var k => throw new GenSharpException($"tokenizer.json: unknown tokenizer kind \"{k}\" (expected char or bpe)"),
    };

    /// <summary>The tokenizer as indented JSON text.</summary>
    public static string ToJsonText(ITokenizer tokenizer) =>
        tokenizer.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = false });

    /// <summary>Loads <c>tokenizer.json</c> from a checkpoint folder (or the file itself).</summary>
    public static ITokenizer Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new GenSharpException($"{file} not found; a text checkpoint keeps its tokenizer there");
        try { return FromJson(JsonNode.Parse(File.ReadAllText(file))?.AsObject() ?? throw new JsonException("empty")); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        { throw new GenSharpException($"{file} is not a valid tokenizer ({e.Message.Split('\n')[0]})"); }
    }

    /// <summary>Writes <c>tokenizer.json</c> atomically.</summary>
    public static void Save(ITokenizer tokenizer, string path) => AtomicFile.WriteAllText(path, ToJsonText(tokenizer));

    /// <summary>Decodes ids to text; byte sequences that are not valid UTF-8 become U+FFFD.</summary>
    public static string Decode(this ITokenizer tokenizer, IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (id < 0 || id >= tokenizer.VocabSize) throw new GenSharpException($"token id {id} is outside the vocabulary [0, {tokenizer.VocabSize})");
            bytes.AddRange(tokenizer.TokenBytes(id).ToArray());
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
