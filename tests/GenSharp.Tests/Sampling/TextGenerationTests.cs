using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>Decoding-loop behaviour on a scripted model whose next token depends only on the last one.</summary>
public class TextGenerationTests
{
    /// <summary>Greedy-deterministic stand-in: logits put all mass on successor[last token].</summary>
    sealed class ScriptedModel(int[] successor, int context = 64) : ILanguageModel
    {
        public int ContextLength => context;
        public int VocabSize => successor.Length;
        public Device Device => torch.CPU;
        public int ValidationEvery => 1;
        public int ValidationBatches => 1;
        public KvCache CreateCache() => new(1, context);
        public SlotKvCache CreateSlotCache(int slots) => new(1, slots, context);

        public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
        {
            cache?.Advance((int)tokens.shape[1]);
            var last = tokens.select(1, tokens.shape[1] - 1).data<long>().ToArray();
            var logits = torch.full(tokens.shape[0], 1, VocabSize, -10f);
            for (int b = 0; b < last.Length; b++) logits[b, 0, successor[last[b]]] = 10f;
            return logits;
        }

        public double Loss(Tensor inputs, Tensor targets) => 0;
    }

    // Vocabulary (char, code-point order): '\n' 0, 'a' 1, 'b' 2, 'c' 3, 'x' 4. Script after "x": a b \n c a b \n c …
    static readonly CharTokenizer Chars = CharTokenizer.Train("\nabcx");
    static readonly int[] Successor = { 3, 2, 0, 1, 1 };

    static TextGenerator Generator() { TorchRuntime.EnsureReady(); return new TextGenerator(new ScriptedModel(Successor), Chars); }

    [Fact]
    public void ScriptRunsToMaxTokens()
    {
        var r = Generator().Generate(new[] { "x" }, new GenerationOptions { Temperature = 0, MaxNewTokens = 7 })[0];
        Assert.Equal("ab\ncab\n", r.Text);
        Assert.Equal("length", r.FinishReason);
    }

    [Fact]
    public async Task StopSequenceSpanningTokensIsNeverStreamed()
    {
        // "\nc" is two tokens; the stream must hold "\n" back until it knows whether "c" follows.
        var pieces = new List<string>();
        await foreach (var p in Generator().StreamAsync("x", new GenerationOptions { Temperature = 0, MaxNewTokens = 50, StopSequences = new[] { "\nc" } }))
            pieces.Add(p);
        Assert.Equal("ab", string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\n'));
        var r = Generator().Generate(new[] { "x" }, new GenerationOptions { Temperature = 0, MaxNewTokens = 50, StopSequences = new[] { "zzz", "\nc" } })[0];
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal("ab", r.Text);
        Assert.Equal(4, r.GeneratedTokens);                                    // a b \n c
    }

    [Fact]
    public void HeldBackTextIsReleasedWhenTheStopDoesNotFollow()
    {
        // "\nb" never occurs (after \n comes c): the held-back "\n" must come out once "c" arrives.
        var pieces = Generator().Run(new[] { "x" }, new GenerationOptions { Temperature = 0, MaxNewTokens = 6, StopSequences = new[] { "\nb" } }).ToList();
        Assert.Equal("ab\ncab", string.Concat(pieces.Select(p => p.Text)));
    }

    [Fact]
    public void StopInsideOneMultiCharacterTokenCutsTheText()
    {
        // Byte-level BPE where "ab" is one token: stopping at "b" cuts inside it.
        var bpe = BpeTokenizer.Train("ab ab ab ab", 257);
        Assert.Equal(new[] { 256 }, bpe.Encode("ab"));
        var successor = new int[257];
        successor['x'] = 256; successor[256] = 'x';
        TorchRuntime.EnsureReady();
        var gen = new TextGenerator(new ScriptedModel(successor), bpe);
        var r = gen.Generate(new[] { "x" }, new GenerationOptions { Temperature = 0, MaxNewTokens = 10, StopSequences = new[] { "bx" } })[0];
        Assert.Equal("a", r.Text);
        Assert.Equal("stop", r.FinishReason);
    }

    [Fact]
    public void BatchRowsFinishIndependently()
    {
        var rs = Generator().Generate(new[] { "x", "xab\nc" }, new GenerationOptions { Temperature = 0, MaxNewTokens = 3, StopSequences = new[] { "\n" } });
        Assert.Equal(("ab", "stop"), (rs[0].Text, rs[0].FinishReason));
        Assert.Equal(("ab", "stop"), (rs[1].Text, rs[1].FinishReason));  // after "…c": a b \n
        Assert.Equal(5, rs[1].PromptTokens);
    }

    [Fact]
    public void BadOptionsAreOneLineErrors()
    {
        var g = Generator();
        Assert.Equal("top_p", Assert.Throws<ParameterException>(() => g.Generate(new[] { "x" }, new GenerationOptions { TopP = 0 })).Parameter);
        Assert.Equal("temperature", Assert.Throws<ParameterException>(() => g.Generate(new[] { "x" }, new GenerationOptions { Temperature = -1 })).Parameter);
        Assert.Contains("prompt must not be empty", Assert.Throws<ParameterException>(() => g.Generate(new[] { "" }, new GenerationOptions())).Message);
        Assert.Contains("not in the character vocabulary", Assert.Throws<GenSharpException>(() => g.Generate(new[] { "q" }, new GenerationOptions())).Message);
    }
}
