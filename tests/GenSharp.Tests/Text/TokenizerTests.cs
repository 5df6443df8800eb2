using System.Text;
using GenSharp.Data;
using GenSharp.Text;
using Xunit;

namespace GenSharp.Tests;

public class TokenizerTests
{
    const string Mixed = "Héllo, wörld! Ünïcödé — ça va? 日本語のテキスト 🙂👍🏽 done.\n\ttabs  and  spaces";

    [Fact]
    public void CharTokenizerRoundTripsNonAsciiAndCountsRunes()
    {
        var tok = CharTokenizer.Train(Mixed);
        var ids = tok.Encode(Mixed);
        Assert.Equal(Mixed, tok.Decode(ids));
        // One token per Unicode scalar: the emoji outside the BMP are one token each, not two halves.
        Assert.Equal(Mixed.EnumerateRunes().Count(), ids.Length);
        Assert.Equal(Mixed.EnumerateRunes().Distinct().Count(), tok.VocabSize);
        // Vocabulary in code-point order: the newline (U+000A) comes before the space.
        Assert.Equal(new Rune('\t'), tok.Vocabulary[0]);
        var back = (CharTokenizer)Tokenizers.FromJson(tok.ToJson());
        Assert.Equal(ids, back.Encode(Mixed));
    }

    [Fact]
    public void CharTokenizerNamesUnknownCharacters()
    {
        var tok = CharTokenizer.Train("abc");
        var e = Assert.Throws<GenSharpException>(() => tok.Encode("abz"));
        Assert.Contains("'z' (U+007A) at position 2", e.Message);
        Assert.Contains("not in the character vocabulary", e.Message);
    }

    [Fact]
    public void BpeLearnsTheMostFrequentPairFirst()
    {
        // Chunks: "aab" ×2, " aab" ×3 (the leading space stays with the word), "\n" ×2, "ab" ×1.
        // Pair counts: (a,a) 5, (a,b) 6, (space,a) 3 → first merge (a,b) = id 256; then (a,256) 5 → 257.
        var tok = BpeTokenizer.Train("aab aab aab\naab aab\nab", 259);
        Assert.Equal(((int)'a', (int)'b'), tok.Merges[0]);
        Assert.Equal(((int)'a', 256), tok.Merges[1]);
        Assert.Equal(new[] { 257 }, tok.Encode("aab"));
        Assert.Equal(new[] { (int)'b', (int)'a' }, tok.Encode("ba"));
    }

    [Fact]
    public void BpeRoundTripsAnyTextAndCompresses()
    {
        var corpus = string.Concat(Enumerable.Repeat("To be, or not to be, that is the question. Ça, c'est la vie — 日本語. ", 30));
        var tok = BpeTokenizer.Train(corpus, 300);
        Assert.True(tok.VocabSize > 256 && tok.VocabSize <= 300);
        var ids = tok.Encode(corpus);
        Assert.Equal(corpus, tok.Decode(ids));
        Assert.True(ids.Length < Encoding.UTF8.GetByteCount(corpus) / 2, $"{ids.Length} tokens for {corpus.Length} characters");
        // Text never seen in training (other scripts, emoji) still round-trips: byte-level, nothing is unknown.
        Assert.Equal(Mixed, tok.Decode(tok.Encode(Mixed)));
        var back = (BpeTokenizer)Tokenizers.FromJson(tok.ToJson());
        Assert.Equal(tok.Encode(Mixed), back.Encode(Mixed));
        Assert.Equal(tok.Merges, back.Merges);
    }

    [Fact]
    public void StreamDecoderWaitsForCompleteCharacters()
    {
        var tok = new BpeTokenizer(Array.Empty<(int, int)>());       // bytes only
        var ids = tok.Encode("é🙂");                                  // 2 + 4 bytes
        Assert.Equal(6, ids.Length);
        var d = new TokenStreamDecoder(tok);
        var pieces = ids.Select(d.Push).ToList();
        Assert.Equal(new[] { "", "é", "", "", "", "🙂" }, pieces);
        Assert.Equal("", d.Flush());
    }

    [Fact]
    public void TokenizerFileRoundTripsThroughDisk()
    {
        var dir = TestData.TempDir();
        var tok = BpeTokenizer.Train("hello hello hello world", 260);
        Tokenizers.Save(tok, Path.Combine(dir, Tokenizers.FileName));
        var back = Tokenizers.Load(dir);
        Assert.Equal(TokenizerKind.Bpe, back.Kind);
        Assert.Equal(tok.Encode("hello world"), back.Encode("hello world"));
        File.WriteAllText(Path.Combine(dir, Tokenizers.FileName), "{\"kind\":\"wordpiece\"}");
        Assert.Contains("unknown tokenizer kind", Assert.Throws<GenSharpException>(() => Tokenizers.Load(dir)).Message);
    }

    [Fact]
    public void CorpusSplitsContiguouslyAndWindowsAreSeeded()
    {
        var text = string.Concat(Enumerable.Range(0, 100).Select(i => (char)('a' + i % 26)));
        var tok = CharTokenizer.Train(text);
        var corpus = TextCorpus.FromText("inline", text, tok);
        Assert.Equal(90, corpus.TrainTokens.Count);
        Assert.Equal(10, corpus.ValidationTokens.Count);
        Assert.Equal(tok.Encode(text[90..]), corpus.ValidationTokens.ToArray());
        var batches = new TextBatches(corpus.TrainTokens, 4, 8, seed: 3);
        var (x, y) = batches.GetBatch(5);
        var (x2, y2) = new TextBatches(corpus.TrainTokens, 4, 8, seed: 3).GetBatch(5);
        Assert.Equal(new long[] { 4, 8 }, x.shape);
        Assert.True(x.eq(x2).all().item<bool>() && y.eq(y2).all().item<bool>());
        // Targets are the inputs shifted by one: within a window, y[t] == x[t + 1].
        Assert.True(y.narrow(1, 0, 7).eq(x.narrow(1, 1, 7)).all().item<bool>());
        // Windows never reach into the validation part.
        Assert.True(y.max().item<long>() < tok.VocabSize);
        var (x3, _) = batches.GetBatch(6);
        Assert.False(x.eq(x3).all().item<bool>());
    }
}
