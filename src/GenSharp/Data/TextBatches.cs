namespace GenSharp.Data;

/// <summary>
/// Random windows of <c>context + 1</c> tokens from a token sequence: inputs are the first
/// <c>context</c> tokens, targets the same window shifted by one. The start offsets of step s come
/// from a SplitMix64 stream seeded by (seed, s) alone, independent of torch's RNG, so resume is exact.
/// </summary>
public sealed class TextBatches : IBatchSource
{
    readonly IReadOnlyList<int> _tokens;

    /// <param name="tokens">Token sequence to draw from (the training split).</param>
    /// <param name="batchSize">Windows per batch.</param>
    /// <param name="context">Tokens per input window.</param>
    /// <param name="seed">Seed of the window offsets.</param>
    public TextBatches(IReadOnlyList<int> tokens, int batchSize, int context, long seed)
    {
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        if (tokens.Count < context + 1)
            throw new GenSharpException($"the text has {tokens.Count} tokens, fewer than one window of context {context} + 1; use a longer text or a smaller block_size");
        _tokens = tokens;
        BatchSize = batchSize;
        Context = context;
        Seed = seed;
    }

    public int BatchSize { get; }
    public int Context { get; }
    public long Seed { get; }

    /// <summary>Windows per epoch: how many disjoint windows the tokens hold, in batches.</summary>
    public int BatchesPerEpoch => Math.Max(1, _tokens.Count / Context / BatchSize);

    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be 0 or more");
        return Windows(Offsets(Seed, step, BatchSize, _tokens.Count - Context));
    }

    /// <summary>
    /// <paramref name="count"/> fixed batches for validation: the same windows every time for a given
    /// seed, so validation losses of different steps are comparable.
    /// </summary>
    public IEnumerable<(Tensor Inputs, Tensor Targets)> FixedBatches(int count)
    {
        for (int i = 0; i < count; i++)
            yield return Windows(Offsets(Seed ^ 0x5EED_0000_0000L, i, BatchSize, _tokens.Count - Context));
    }

    /// <summary>
    /// Every disjoint window of the tokens in order, in batches (the last batch may be smaller), for
    /// evaluation: each token except the first of each window is predicted once from up to
    /// <c>context</c> tokens of history.
    /// </summary>
    public static IEnumerable<(Tensor Inputs, Tensor Targets)> Sequential(IReadOnlyList<int> tokens, int context, int batchSize)
    {
        int windows = (tokens.Count - 1) / context;
        for (int start = 0; start < windows; start += batchSize)
        {
            int n = Math.Min(batchSize, windows - start);
            yield return Gather(tokens, Enumerable.Range(start, n).Select(w => (long)w * context).ToArray(), context);
        }
    }

    (Tensor, Tensor) Windows(long[] offsets) => Gather(_tokens, offsets, Context);

    static (Tensor, Tensor) Gather(IReadOnlyList<int> tokens, long[] offsets, int context)
    {
        var x = new long[offsets.Length * context];
        var y = new long[offsets.Length * context];
        for (int b = 0; b < offsets.Length; b++)
            for (int t = 0; t < context; t++)
            {
                x[b * context + t] = tokens[(int)offsets[b] + t];
                y[b * context + t] = tokens[(int)offsets[b] + t + 1];
            }
        return (torch.tensor(x, new long[] { offsets.Length, context }), torch.tensor(y, new long[] { offsets.Length, context }));
    }

    /// <summary>Window starts in [0, maxStart) for one batch.</summary>
    static long[] Offsets(long seed, long step, int batch, int maxStart)
    {
        ulong s = Mix(Mix((ulong)seed) ^ (ulong)step * 0xD1B54A32D192ED03UL);
        var o = new long[batch];
        for (int i = 0; i < batch; i++)
        {
            s += 0x9E3779B97F4A7C15UL;
            o[i] = (long)(((UInt128)Mix(s) * (ulong)maxStart) >> 64);
        }
        return o;
    }

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
