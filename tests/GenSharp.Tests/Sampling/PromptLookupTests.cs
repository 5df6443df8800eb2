using GenSharp.Sampling;
using GenSharp.Text;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Prompt-lookup speculative decoding gives plain greedy decoding's text token for token (drafts only save passes), across
/// the context limit and with stop sequences, and drafts are proposed and accepted on text that repeats.
/// </summary>
public class PromptLookupTests
{
    [Theory]
    [InlineData(3, 64, 80)]
    [InlineData(7, 64, 40)]
    [InlineData(11, 24, 70)]          // past the context: the cache is rebuilt from the last half, drafts carry on
    public void Drafts_change_nothing_in_the_greedy_output(int seed, int context, int tokens)
    {
        using var m = GptTests.Build(GptTests.Tiny with { BlockSize = context }, seed);
        var tok = CharTokenizer.Train("abcdefghij ");
        var gen = new TextGenerator(m, tok);
        var plain = new GenerationOptions { Temperature = 0, MaxNewTokens = tokens, IgnoreEos = true };
        foreach (var prompt in new[] { "abc abc abc ab", "hij" })
        {
            var expected = gen.Generate(new[] { prompt }, plain)[0];
            long before = gen.Stats.Proposed;
            var got = gen.Generate(new[] { prompt }, plain with { PromptLookup = 5 })[0];
            Assert.Equal(expected.Text, got.Text);
            Assert.Equal(expected.GeneratedTokens, got.GeneratedTokens);
            Assert.True(gen.Stats.Proposed > before, "no draft was proposed");
        }
        Assert.True(gen.Stats.Accepted > 0, "a small random model repeats itself: some drafts are kept");
        Assert.True(gen.Stats.Checks < gen.Stats.Proposed);
    }

    [Fact]
    public void Stop_sequences_and_sampling_settings_are_honoured()
    {
        using var m = GptTests.Build(GptTests.Tiny with { BlockSize = 64 }, seed: 3);
        var tok = CharTokenizer.Train("abcdefghij ");
        var gen = new TextGenerator(m, tok);
        var plain = new GenerationOptions { Temperature = 0, MaxNewTokens = 60, IgnoreEos = true };
        var full = gen.Generate(new[] { "abc abc" }, plain)[0].Text;
        var stop = full.Substring(full.Length / 2, 2);
        var expected = gen.Generate(new[] { "abc abc" }, plain with { StopSequences = new[] { stop } })[0];
        var got = gen.Generate(new[] { "abc abc" }, plain with { StopSequences = new[] { stop }, PromptLookup = 8 })[0];
        Assert.Equal(expected.Text, got.Text);
        Assert.Equal("stop", got.FinishReason);
        // Sampling (temperature > 0) and several rows decode as before: the option is ignored there.
        Assert.False((plain with { Temperature = 0.7, PromptLookup = 8 }).UsesPromptLookup(1));
        Assert.False((plain with { PromptLookup = 8 }).UsesPromptLookup(2));
        Assert.True((plain with { PromptLookup = 8 }).UsesPromptLookup(1));
    }

    [Fact]
    public void A_bad_draft_length_is_refused()
    {
        Assert.Contains("prompt_lookup", Assert.Throws<ParameterException>(() => new GenerationOptions { PromptLookup = 65 }.Validate()).Message);
    }
}
