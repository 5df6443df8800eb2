namespace GenSharp.Data;

/// <summary>
/// Batches of tokenized examples of different lengths (chat fine-tuning): inputs are each example's ids but the last,
/// targets its labels shifted by one (<see cref="ChatExamples.Ignore"/> where no loss is taken), right-padded to the
/// longest example of the batch with pad id 0 and ignored targets. Examples longer than context + 1 tokens are cut.
/// The examples of step s are the (s mod E)-th batch of epoch ⌊s / E⌋'s shuffle, which depends on (seed, epoch) alone,
/// so resume is exact.
/// </summary>
public sealed class ExampleBatches : IBatchSource
{
    readonly IReadOnlyList<(int[] Ids, int[] Labels)> _examples;
    readonly int _batch, _context;
    readonly long _seed;

    /// <param name="examples">Token ids and labels per example (at least 2 tokens each).</param>
    /// <param name="batchSize">Examples per batch.</param>
    /// <param name="context">Most input tokens per example.</param>
    /// <param name="seed">Seed of the shuffles.</param>
    public ExampleBatches(IReadOnlyList<(int[] Ids, int[] Labels)> examples, int batchSize, int context, long seed)
    {
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        if (examples.Count == 0) throw new GenSharpException("no examples to train on");
        _examples = examples;
        _batch = Math.Min(batchSize, examples.Count);
        _context = context;
        _seed = seed;
    }

    public int BatchesPerEpoch => Math.Max(1, _examples.Count / _batch);

    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be 0 or more");
        long epoch = step / BatchesPerEpoch;
        int k = (int)(step % BatchesPerEpoch);
        var order = Shuffle(_examples.Count, _seed, epoch);
        return Collate(order.Skip(k * _batch).Take(_batch).Select(i => _examples[i]).ToList(), _context);
    }

    /// <summary>Every example in order, in batches (the last may be smaller): for held-out losses.</summary>
    public static IEnumerable<(Tensor Inputs, Tensor Targets)> Sequential(IReadOnlyList<(int[] Ids, int[] Labels)> examples, int batchSize, int context)
    {
        for (int i = 0; i < examples.Count; i += batchSize)
            yield return Collate(examples.Skip(i).Take(batchSize).ToList(), context);
    }

    /// <summary>A permutation of 0 … n − 1 fixed by (seed, epoch): Fisher–Yates over a SplitMix64 stream.</summary>
    static int[] Shuffle(int n, long seed, long epoch)
    {
        var order = Enumerable.Range(0, n).ToArray();
        ulong state = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch * 0xD1B54A32D192ED03UL;
        for (int i = n - 1; i > 0; i--)
        {
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            int j = (int)(z % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    static (Tensor, Tensor) Collate(IReadOnlyList<(int[] Ids, int[] Labels)> batch, int context)
    {
        int t = batch.Max(e => Math.Min(e.Ids.Length, context + 1)) - 1;
        var inputs = new long[batch.Count * t];
        var targets = new long[batch.Count * t];
        Array.Fill(targets, ChatExamples.Ignore);
        for (int b = 0; b < batch.Count; b++)
        {
            var (ids, labels) = batch[b];
            int n = Math.Min(ids.Length, context + 1) - 1;
            for (int i = 0; i < n; i++)
            {
                inputs[b * t + i] = ids[i];
                targets[b * t + i] = labels[i + 1];
            }
        }
        return (torch.tensor(inputs).view(batch.Count, t), torch.tensor(targets).view(batch.Count, t));
    }
}
