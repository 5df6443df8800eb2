using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Text;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Hugging Face byte-level BPE tokenizer.json: hand-computed encodings, round trips, special tokens, pre-tokenizer pipelines.</summary>
public class HfTokenizerTests
{
    /// <summary>GPT-2's byte stand-ins, written out independently of the tokenizer's own table.</summary>
    static string ByteChar(int b)
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToList();
        if (printable.Contains(b)) return ((char)b).ToString();
        int n = Enumerable.Range(0, 256).Where(x => !printable.Contains(x)).ToList().IndexOf(b);
        return ((char)(256 + n)).ToString();
    }

    /// <summary>
    /// Vocabulary: ids 0–255 are the bytes (id = byte value), then merges "Ġ t" → 256 "Ġt", "h e" → 257 "he",
    /// "Ġt he" → 258 "Ġthe", "Ã ©" → 259 "é", "1 2" → 263 "12"; added tokens 260–262 (&lt;|endoftext|&gt;,
    /// &lt;|im_start|&gt;, &lt;|im_end|&gt;).
    /// </summary>
    internal static JsonObject TokenizerJson(JsonNode? preTokenizer = null, JsonNode? normalizer = null)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteChar(b)] = b;
        vocab["Ġt"] = 256; vocab["he"] = 257; vocab["Ġthe"] = 258; vocab["Ã©"] = 259; vocab["12"] = 263;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 260, ["content"] = "<|endoftext|>", ["special"] = true },
                new JsonObject { ["id"] = 261, ["content"] = "<|im_start|>", ["special"] = true },
                new JsonObject { ["id"] = 262, ["content"] = "<|im_end|>", ["special"] = true }),
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer ?? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["vocab"] = vocab,
                ["merges"] = new JsonArray("Ġ t", "h e", new JsonArray("Ġt", "he"), "Ã ©", "1 2"),
            },
        };
    }

    internal static string WriteTokenizer(string dir, bool addBos = false, JsonObject? json = null)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), (json ?? TokenizerJson()).ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), new JsonObject
        {
            ["add_bos_token"] = addBos, ["bos_token"] = "<|endoftext|>",
            ["eos_token"] = new JsonObject { ["content"] = "<|im_end|>" },
        }.ToJsonString());
        return dir;
    }

    static HfTokenizer Load(JsonObject? json = null) => HfTokenizer.Load(WriteTokenizer(TestData.TempDir(), json: json), 270);

    [Fact]
    public void EncodesWithMergesByHand()
    {
        var tok = Load();
        Assert.Equal(270, tok.VocabSize);                                         // padded to the model's rows
        Assert.Equal(new[] { 258 }, tok.Encode(" the"));
        Assert.Equal(new[] { (int)'t', 257 }, tok.Encode("the"));                 // no "Ġ": "t" + "he"
        Assert.Equal(new[] { 258, 258 }, tok.Encode(" the the"));
        Assert.Equal(new[] { 259 }, tok.Encode("é"));                             // C3 A9 merged
        Assert.Equal(new[] { 32, 256 }, tok.Encode("  t"));                       // GPT-2 regex: "\s+(?!\S)" keeps one space apart
        Assert.Equal(new[] { 263, (int)'3' }, tok.Encode("123"));
        Assert.Equal(new[] { 262 }, tok.EosTokenIds);
        Assert.False(tok.AddBosToken);
        Assert.Equal(260, tok.BosTokenId);
    }

    [Fact]
    public void RoundTripsIncludingNonAsciiAndSpecialTokens()
    {
        var tok = Load();
        foreach (var text in new[] { "the café, 日本語 🙂 the end", "<|im_start|>user\nhé<|im_end|>\n", "x<|endoftext|><|endoftext|>y", "  spaces\t\ttabs\n\n" })
        {
            var ids = tok.Encode(text);
            Assert.Equal(text, tok.Decode(ids));
            var stream = new TokenStreamDecoder(tok);
            Assert.Equal(text, string.Concat(ids.Select(stream.Push)) + stream.Flush());
        }
        var chat = tok.Encode("<|im_start|>user\nhi<|im_end|>");
        Assert.Equal(261, chat[0]);
        Assert.Equal(262, chat[^1]);
        Assert.Equal(new[] { 261, (int)'u', (int)'s', (int)'e', (int)'r', 10, (int)'h', (int)'i', 262 }, chat);
        Assert.Equal("<|im_end|>", Encoding.UTF8.GetString(tok.TokenBytes(262)));
        Assert.Empty(tok.TokenBytes(269).ToArray());                              // padding id past the vocabulary
    }

    [Fact]
    public void SplitPreTokenizerPipelineDecidesWhatMerges()
    {
        // Qwen2 style: a Split regex with single digits, then ByteLevel without its own regex: "12" cannot merge.
        var qwen = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
        };
        var tok = Load(TokenizerJson(qwen, new JsonObject { ["type"] = "NFC" }));
        Assert.Equal(new[] { (int)'1', (int)'2' }, tok.Encode("12"));
        Assert.Equal(new[] { 258 }, tok.Encode(" the"));
        Assert.Equal(new[] { 259 }, tok.Encode("é"));                             // an NFC normalizer is accepted (see HfTokenizer on invariant globalization)
        // SmolLM2 style: Digits(individual) then ByteLevel's GPT-2 regex.
        var smol = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true }),
        };
        Assert.Equal(new[] { (int)'1', (int)'2' }, Load(TokenizerJson(smol)).Encode("12"));
    }

    /// <summary>
    /// Llama-2 style: &lt;unk&gt; &lt;s&gt; &lt;/s&gt; = 0–2, &lt;0x00&gt;…&lt;0xFF&gt; = 3–258, then "▁" 259, "t" 260, "h" 261, "e" 262,
    /// "▁t" 263, "he" 264, "▁the" 265, "a" 266; normalizer Prepend "▁" + Replace " " → "▁"; byte fallback.
    /// </summary>
    static JsonObject SentencePieceJson()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        string[] rest = { "▁", "t", "h", "e", "▁t", "he", "▁the", "a" };
        for (int i = 0; i < rest.Length; i++) vocab[rest[i]] = 259 + i;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(
                new JsonObject { ["id"] = 0, ["content"] = "<unk>", ["special"] = true },
                new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true },
                new JsonObject { ["id"] = 2, ["content"] = "</s>", ["special"] = true }),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["decoder"] = new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(new JsonObject { ["type"] = "ByteFallback" }) },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["vocab"] = vocab, ["byte_fallback"] = true, ["unk_token"] = "<unk>",
                ["merges"] = new JsonArray("▁ t", "h e", "▁t he"),
            },
        };
    }

    [Fact]
    public void SentencePieceStyleWithByteFallback()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), SentencePieceJson().ToJsonString());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """{"add_bos_token": true, "bos_token": "<s>", "eos_token": "</s>"}""");
        var tok = HfTokenizer.Load(dir, 270);
        Assert.Equal(new[] { 265 }, tok.Encode("the"));                         // "▁the"
        Assert.Equal(new[] { 265, 259, 266 }, tok.Encode("the a"));             // "▁the" "▁" "a"
        Assert.Equal(new[] { 259, 3 + 0xC3, 3 + 0xA9 }, tok.Encode("é"));       // "▁" then é's bytes as <0xC3> <0xA9>
        Assert.Equal(new[] { 265, 2, 259, 266 }, tok.Encode("the</s>a"));       // the normalizer prepends "▁" to every segment
        Assert.True(tok.AddBosToken);
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal(new[] { 2 }, tok.EosTokenIds);
        foreach (var text in new[] { "the café 日本 🙂", "a  b\n" })
        {
            var ids = tok.Encode(text);
            Assert.Equal(" " + text, tok.Decode(ids));                          // the prepended "▁" decodes as a leading space
        }
    }

    [Fact]
    public void RefusesOtherTokenizerModels()
    {
        var json = TokenizerJson();
        ((JsonObject)json["model"]!)["type"] = "Unigram";
        Assert.Contains("Unigram", Assert.Throws<GenSharpException>(() => Load(json)).Message);
        json = TokenizerJson(new JsonObject { ["type"] = "Whitespace" });
        json["decoder"] = null;
        Assert.Contains("ByteLevel", Assert.Throws<GenSharpException>(() => Load(json)).Message);
    }

    /// <summary>ToJson gives the tokenizer.json the tokenizer was read from (kept as text, not as a parsed tree), a new object each call.</summary>
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void ToJsonGivesTheFileItWasReadFrom(string model)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Fixtures", "HfReference", model);
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "tokenizer.json")));
        var tok = HfTokenizer.Load(folder);
        var first = tok.ToJson();
        Assert.True(JsonNode.DeepEquals(file, first));
        first["model"] = "changed";
        Assert.True(JsonNode.DeepEquals(file, tok.ToJson()));
    }
}
