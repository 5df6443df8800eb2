using GenSharp.Models;
using GenSharp.Models.Pretrained;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Continuous batching: the slot cache against a full forward pass without any cache, and the batcher's sequences
/// against the same sequences run alone, against <see cref="TextGenerator"/>, and against log-softmax computed by hand.
/// </summary>
public class ContinuousBatcherTests
{
    static PretrainedLanguageModel Llama() => HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2), seed: 7);
    static PretrainedLanguageModel Gpt2() => HfModelTests.RandomModel(HfModelTests.Gpt2Config(), seed: 7);
    static HfTokenizer Tokenizer() => HfTokenizer.Load(HfTokenizerTests.WriteTokenizer(TestData.TempDir()), HfModelTests.Vocab);

    static Tensor Row(IEnumerable<int> ids) { var a = ids.Select(x => (long)x).ToArray(); return torch.tensor(a, new long[] { 1, a.Length }); }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void RowsAtTheirOwnPositionsGiveTheLogitsOfAFullForwardPass(string type)
    {
        using var m = type == "llama" ? Llama() : Gpt2();
        using var _ = torch.no_grad();
        var seqs = new[] { new List<int> { 5, 9, 13, 2, 7 }, new List<int> { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, new List<int> { 40, 41 } };
        using var cache = m.CreateSlotCache(4);
        for (int s = 0; s < seqs.Length; s++)
        {
            cache.Select(s, 1);
            var prefill = m.Logits(Row(seqs[s]), cache, lastOnly: true);
            Assert.True(prefill.allclose(m.Logits(Row(seqs[s])).narrow(1, seqs[s].Count - 1, 1), rtol: 0, atol: 1e-5), $"prefill of row {s}");
        }
        var rng = new Random(3);
        for (int step = 0; step < 4; step++)
        {
            // One token per row (the decode step), then two per row (rows of different lengths fed a chunk).
            int fresh = step == 3 ? 2 : 1;
            var next = seqs.Select(_ => Enumerable.Range(0, fresh).Select(_ => rng.Next(HfModelTests.Vocab)).ToArray()).ToArray();
            cache.Select(0, seqs.Length);
            var ids = torch.tensor(next.SelectMany(n => n.Select(x => (long)x)).ToArray(), new long[] { seqs.Length, fresh });
            var batched = m.Logits(ids, cache);                                                    // (3, fresh, V)
            for (int s = 0; s < seqs.Length; s++)
            {
                seqs[s].AddRange(next[s]);
                var full = m.Logits(Row(seqs[s])).narrow(1, seqs[s].Count - fresh, fresh);        // no cache at all
                Assert.True(batched.narrow(0, s, 1).allclose(full, rtol: 0, atol: 1e-5), $"row {s}, step {step}");
                Assert.Equal(seqs[s].Count, cache.Length(s));
            }
        }
        // A row moved into a freed slot keeps its keys: decoding it there continues it exactly.
        cache.Move(2, 0);
        Assert.Equal(0, cache.Length(2));
        cache.Select(0, 2);
        var moved = m.Logits(torch.tensor(new long[] { 11, 12 }, new long[] { 2, 1 }), cache);
        seqs[2].Add(11);
        seqs[1].Add(12);
        Assert.True(moved.narrow(0, 0, 1).allclose(m.Logits(Row(seqs[2])).narrow(1, seqs[2].Count - 1, 1), rtol: 0, atol: 1e-5));
        Assert.True(moved.narrow(0, 1, 1).allclose(m.Logits(Row(seqs[1])).narrow(1, seqs[1].Count - 1, 1), rtol: 0, atol: 1e-5));
    }

    /// <summary>A request: prompt ids, options, and when (at which step of the shared run) it is added.</summary>
    sealed record Job(int[] Prompt, GenerationOptions Options, int AddAtStep);

    static readonly Job[] Jobs =
    {
        new(new[] { 3, 4, 5, 6, 7, 8, 9, 10 }, new GenerationOptions { MaxNewTokens = 12, Temperature = 0 }, 0),
        new(new[] { 20, 21 }, new GenerationOptions { MaxNewTokens = 20, Temperature = 1, Seed = 5, TopP = 0.9 }, 0),
        new(new[] { 50, 60, 70, 80, 90 }, new GenerationOptions { MaxNewTokens = 7, Temperature = 0.7, Seed = 9, TopK = 20, PresencePenalty = 0.5 }, 2),
        new(new[] { 100 }, new GenerationOptions { MaxNewTokens = 15, Temperature = 1.3, Seed = 1, FrequencyPenalty = 1, RepetitionPenalty = 1.2 }, 3),
        new(new[] { 20, 21 }, new GenerationOptions { MaxNewTokens = 9, Temperature = 1, Seed = 6 }, 3),
    };

    /// <summary>Runs the jobs on one batcher, adding each at its step; returns each job's generated ids and logprobs.</summary>
    static (int[] Ids, double[] Logprobs, GenerationResult Result)[] Run(ILanguageModel m, ITokenizer tok, Job[] jobs, int rows)
    {
        using var batcher = new ContinuousBatcher(m, tok, rows);
        var handles = new BatchedSequence?[jobs.Length];
        for (int step = 0; step < 200; step++)
        {
            for (int j = 0; j < jobs.Length; j++)
                if (jobs[j].AddAtStep == step) handles[j] = batcher.Add(jobs[j].Prompt, jobs[j].Options, logprobs: 2);
            if (!batcher.Step() && handles.All(h => h is not null)) break;
        }
        return handles.Select(h =>
        {
            Assert.True(h!.Completion.IsCompletedSuccessfully);
            var lps = new List<TokenLogprob>();
            while (h.Pieces.TryRead(out var piece)) lps.AddRange(piece.Logprobs);
            return (lps.Select(l => l.Id).ToArray(), lps.Select(l => l.Logprob).ToArray(), Result(h));
        }).ToArray();
    }

    [Fact]
    public void ASequenceGeneratesTheSameTokensAloneAsBesideOthers()
    {
        using var m = Llama();
        var tok = Tokenizer();
        // Two rows for five jobs: later ones wait for a free row, join a batch that is mid-way, and leave at their own length.
        var together = Run(m, tok, Jobs, rows: 2);
        var wide = Run(m, tok, Jobs, rows: 8);
        for (int j = 0; j < Jobs.Length; j++)
        {
            var alone = Run(m, tok, new[] { Jobs[j] with { AddAtStep = 0 } }, rows: 1)[0];
            Assert.Equal(Jobs[j].Options.MaxNewTokens, alone.Ids.Length);
            Assert.Equal(alone.Ids, together[j].Ids);
            Assert.Equal(alone.Ids, wide[j].Ids);
            Assert.Equal(alone.Result, together[j].Result);
            for (int i = 0; i < alone.Logprobs.Length; i++)
                Assert.True(Math.Abs(alone.Logprobs[i] - together[j].Logprobs[i]) < 1e-4, $"job {j} token {i}: {alone.Logprobs[i]} alone, {together[j].Logprobs[i]} together");
        }
        // The two sampled jobs with one prompt (prefilled once, the second as a copy) still differ by seed.
        Assert.NotEqual(together[1].Ids.Take(9), together[4].Ids);
    }

    [Fact]
    public void AloneItIsTheTextGeneratorWithTheSameSeed()
    {
        using var m = Llama();
        var tok = Tokenizer();
        var o = new GenerationOptions { MaxNewTokens = 16, Temperature = 0.9, TopK = 50, Seed = 42, StopSequences = new[] { "zz" } };
        var expected = new TextGenerator(m, tok).Generate(new[] { "the cat sat" }, o)[0];
        using var batcher = new ContinuousBatcher(m, tok, 4);
        var s = batcher.Add(ContinuousBatcher.PromptIds(tok, "the cat sat"), o);
        while (batcher.Step()) { }
        Assert.Equal(expected, Result(s));
        var streamed = new System.Text.StringBuilder();
        while (s.Pieces.TryRead(out var piece)) streamed.Append(piece.Text);
        Assert.Equal(expected.Text, streamed.ToString());
    }

    [Fact]
    public void LogprobsAreTheModelsLogSoftmaxAtEachPosition()
    {
        using var m = Gpt2();
        var tok = Tokenizer();
        var prompt = new[] { 7, 8, 9 };
        var run = Run(m, tok, new[] { new Job(prompt, new GenerationOptions { MaxNewTokens = 6, Temperature = 1.5, Seed = 3 }, 0) }, rows: 2)[0];
        using var _ = torch.no_grad();
        var logp = m.Logits(Row(prompt.Concat(run.Ids))).log_softmax(2)[0];                      // (T, V), no cache
        for (int i = 0; i < run.Ids.Length; i++)
            Assert.True(Math.Abs(logp[prompt.Length - 1 + i, run.Ids[i]].item<float>() - run.Logprobs[i]) < 1e-4, $"token {i}");
        // Top alternatives: the two largest of the same row, most likely first.
        using var batcher = new ContinuousBatcher(m, tok, 1);
        var s = batcher.Add(prompt, new GenerationOptions { MaxNewTokens = 1, Temperature = 0 }, logprobs: 2);
        while (batcher.Step()) { }
        s.Pieces.TryRead(out var piece);
        var top = piece!.Logprobs.Single().Top;
        var (values, indices) = logp[prompt.Length - 1].topk(2);
        Assert.Equal(indices.data<long>().Select(x => (int)x).ToArray(), top.Select(t => t.Id).ToArray());
        Assert.True(Math.Abs(values[0].item<float>() - top[0].Logprob) < 1e-4);
        Assert.Equal(top[0].Id, piece.Logprobs.Single().Id);                                     // greedy took the most likely
        Assert.Equal(tok.TokenBytes(top[0].Id).ToArray(), top[0].Bytes);
    }

    [Fact]
    public void PresenceAndFrequencyPenaltiesSteerGreedyDecodingAsOpenAiDefinesThem()
    {
        using var m = Llama();
        var prompt = new[] { 4, 4, 4, 4 };
        var run = Run(m, Tokenizer(), new[] { new Job(prompt, new GenerationOptions { MaxNewTokens = 24, Temperature = 0, FrequencyPenalty = 1.5, PresencePenalty = 0.5 }, 0) }, rows: 2)[0];
        // By hand: at each position, logit − 1.5·count − 0.5·[count > 0] over the tokens generated so far, then argmax.
        using var _ = torch.no_grad();
        var seq = prompt.ToList();
        var counts = new float[m.VocabSize];
        bool steered = false;
        foreach (var id in run.Ids)
        {
            var logits = m.Logits(Row(seq))[0, seq.Count - 1];
            var c = torch.tensor(counts);
            int best = (int)(logits - 1.5 * c - 0.5 * c.gt(0).to_type(ScalarType.Float32)).argmax().item<long>();
            steered |= best != (int)logits.argmax().item<long>();
            Assert.Equal(best, id);
            seq.Add(id);
            counts[id]++;
        }
        Assert.True(steered, "the penalties never changed a choice: the test would pass without them");
    }

    [Fact]
    public void CancellingASequenceFreesItsRowForTheNextOne()
    {
        using var m = Llama();
        var tok = Tokenizer();
        using var batcher = new ContinuousBatcher(m, tok, 1);
        var o = new GenerationOptions { MaxNewTokens = 1000, Temperature = 0 };
        using var cts = new CancellationTokenSource();
        var first = batcher.Add(new[] { 1, 2 }, o with { MaxNewTokens = 40 }, cancel: cts.Token);
        var second = batcher.Add(new[] { 3, 4 }, o with { MaxNewTokens = 5 });
        for (int i = 0; i < 3; i++) batcher.Step();
        Assert.Equal((1, 1), (batcher.Running, batcher.Waiting));                                 // the second waits for the only row
        cts.Cancel();
        batcher.Step();
        Assert.True(first.Completion.IsCanceled);
        Assert.Equal((1, 0), (batcher.Running, batcher.Waiting));                                 // the second took the row at once
        while (batcher.Step()) { }
        Assert.Equal(5, Result(second).GeneratedTokens);
        // Cancelled while still waiting: it never runs.
        var blocker = batcher.Add(new[] { 5 }, o with { MaxNewTokens = 3 });
        var waiting = batcher.Add(new[] { 6 }, o);
        batcher.Step();
        waiting.Cancel();
        batcher.Step();
        Assert.True(waiting.Completion.IsCanceled);
        while (batcher.Step()) { }
        Assert.Equal(3, Result(blocker).GeneratedTokens);
    }

    [Fact]
    public void PastTheContextASequenceGoesOnFromTheLastHalfAsTheTextGeneratorDoes()
    {
        using var m = Llama();                                                                    // context 64
        var tok = Tokenizer();
        using var batcher = new ContinuousBatcher(m, tok, 2);
        var o = new GenerationOptions { MaxNewTokens = 90, Temperature = 0 };
        var prompt = string.Concat(Enumerable.Repeat("abc ", 12));                               // 48 tokens: the context fills at token 17, and again later
        var s = batcher.Add(ContinuousBatcher.PromptIds(tok, prompt), o);
        var other = batcher.Add(new[] { 1 }, o with { MaxNewTokens = 10 });
        while (batcher.Step()) { }
        var expected = new TextGenerator(m, tok).Generate(new[] { prompt }, o)[0];
        Assert.Equal(("length", 90), (Result(s).FinishReason, Result(s).GeneratedTokens));
        Assert.Equal(expected.Text, Result(s).Text);
        Assert.Equal(10, Result(other).GeneratedTokens);
        var error = Assert.Throws<ParameterException>(() => batcher.Add(Enumerable.Range(1, 65).ToArray(), new GenerationOptions()));
        Assert.Contains("context is 64", error.Message);
    }

    /// <summary>Logits of zeros, or NaN for rows whose last token is <c>poison</c>.</summary>
    sealed class PoisonModel(int poison) : ILanguageModel
    {
        public int ContextLength => 32;
        public int VocabSize => HfModelTests.Vocab;
        public Device Device => torch.CPU;
        public KvCache CreateCache() => new(1, ContextLength);
        public SlotKvCache CreateSlotCache(int slots) => new(1, slots, ContextLength);
        public double Loss(Tensor inputs, Tensor targets) => 0;
        public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
        {
            cache?.Advance((int)tokens.shape[1]);
            var last = tokens.select(1, tokens.shape[1] - 1).data<long>().ToArray();
            var logits = torch.zeros(tokens.shape[0], 1, VocabSize);
            for (int b = 0; b < last.Length; b++) if (last[b] == poison) logits[b] = torch.tensor(float.NaN);
            return logits;
        }
    }

    [Fact]
    public void ASequenceWhoseSamplingFailsEndsWithTheErrorAndTheOthersGoOn()
    {
        using var batcher = new ContinuousBatcher(new PoisonModel(poison: 5), Tokenizer(), 4);
        var o = new GenerationOptions { MaxNewTokens = 6, Temperature = 1, Seed = 1 };
        var bad = batcher.Add(new[] { 5 }, o);
        var good = batcher.Add(new[] { 1 }, o with { Seed = 2 });
        while (batcher.Step()) { }
        Assert.True(bad.Completion.IsFaulted);
        Assert.Equal(6, Result(good).GeneratedTokens);
        Assert.Equal(0, batcher.Running);
    }

    /// <summary>The result of a sequence that has ended.</summary>
    static GenerationResult Result(BatchedSequence s)
    {
        Assert.True(s.Completion.IsCompletedSuccessfully);
        return s.Completion.GetAwaiter().GetResult();
    }

    [Fact]
    public async Task OnItsOwnThreadItServesConcurrentCallersAndStopsOnDispose()
    {
        using var m = Llama();
        var tok = Tokenizer();
        var batcher = new ContinuousBatcher(m, tok, 4);
        batcher.Start();
        var o = new GenerationOptions { MaxNewTokens = 8, Temperature = 1, Seed = 2 };
        var all = Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            var s = batcher.Add(new[] { 10 + i, 11 }, o);
            var text = new System.Text.StringBuilder();
            await foreach (var piece in s.Pieces.ReadAllAsync()) text.Append(piece.Text);
            return (text.ToString(), await s.Completion);
        })).ToArray();
        foreach (var (text, result) in await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(60))) Assert.Equal(text, result.Text);
        var last = batcher.Add(new[] { 1 }, o with { MaxNewTokens = 100_000 });
        batcher.Dispose();
        Assert.True(last.Completion.IsCompleted);                                                 // finished, or cancelled by Dispose
        Assert.Throws<ObjectDisposedException>(() => batcher.Add(new[] { 1 }, o));
    }
}
