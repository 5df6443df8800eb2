namespace GenSharp.Data;

/// <summary>
/// Serves mini-batches of an <see cref="ImageDataset"/> addressed by global training step, so a run
/// resumed at step k sees exactly the batch an uninterrupted run would have seen. Step s belongs to
/// epoch s / <see cref="BatchesPerEpoch"/> and is batch s % <see cref="BatchesPerEpoch"/> of it; each
/// epoch's order is a permutation computed only from (seed, epoch) with a self-contained generator,
/// independent of torch's RNG state and of library versions. The current epoch's order is cached.
/// </summary>
public sealed class BatchLoader : IBatchSource
{
    readonly object _gate = new();
    long _cachedEpoch = -1;
    long[] _cachedOrder = Array.Empty<long>();

    /// <summary>Creates a loader over <paramref name="data"/> (which must outlive the loader).</summary>
    /// <param name="data">Data set to draw from.</param>
    /// <param name="batchSize">Images per batch, from 1 to the data set's size.</param>
    /// <param name="seed">Seed of the per-epoch shuffles.</param>
    /// <param name="shuffle">Visit images in a fresh random order each epoch; in file order when false.</param>
    /// <param name="dropLast">Skip the final partial batch of an epoch (every batch then has exactly
    /// <paramref name="batchSize"/> images); when false the last batch of an epoch may be smaller.</param>
    /// <exception cref="GenSharpException"><paramref name="batchSize"/> is outside [1, data.Count].</exception>
    public BatchLoader(ImageDataset data, int batchSize, long seed, bool shuffle = true, bool dropLast = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count == 0)
            throw new GenSharpException($"{data.Source} holds no images; choose a data set or class that has some");
        if (batchSize < 1 || batchSize > data.Count)
            throw new GenSharpException($"batch size {batchSize} is invalid for {data.Source} with {data.Count} images; use a batch size from 1 to {data.Count}");
        Data = data;
        BatchSize = batchSize;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
        BatchesPerEpoch = dropLast ? data.Count / batchSize : (data.Count + batchSize - 1) / batchSize;
    }

    /// <summary>The data set batches are drawn from.</summary>
    public ImageDataset Data { get; }

    /// <summary>Images per batch (the last batch of an epoch may be smaller when <see cref="DropLast"/> is false).</summary>
    public int BatchSize { get; }

    /// <summary>Seed of the per-epoch shuffles.</summary>
    public long Seed { get; }

    /// <summary>Whether each epoch visits the images in a fresh random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether an epoch's final partial batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Number of batches in one pass over the data.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>
    /// The batch for global step <paramref name="step"/>: uint8 images (B, C, H, W) and int64 labels (B),
    /// on the CPU. Both are new tensors owned by the caller.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be 0 or more");
        long epoch = step / BatchesPerEpoch;
        int within = (int)(step % BatchesPerEpoch);
        var order = OrderFor(epoch);
        int start = within * BatchSize;
        int length = Math.Min(BatchSize, order.Length - start);
        using var index = torch.tensor(order.AsSpan(start, length).ToArray(), new long[] { length });
        return (Data.Images.index_select(0, index), Data.Labels.index_select(0, index));
    }

    /// <summary>
    /// The order in which epoch <paramref name="epoch"/> visits the data set: a permutation of
    /// 0..Count-1 (the identity when <see cref="Shuffle"/> is false). Returns a fresh copy.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="epoch"/> is negative.</exception>
    public long[] EpochOrder(long epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be 0 or more");
        return (long[])OrderFor(epoch).Clone();
    }

    /// <summary>
    /// Every image once, in data-set order, in batches of <paramref name="batchSize"/> (the last one
    /// may be smaller); for evaluation. Each yielded pair is new tensors owned by the caller.
    /// </summary>
    /// <exception cref="GenSharpException"><paramref name="batchSize"/> is less than 1.</exception>
    public IEnumerable<(Tensor Images, Tensor Labels)> Sequential(int batchSize) => InOrder(Data, batchSize);

    /// <summary>
    /// The dataset in file order, in batches of <paramref name="batchSize"/> (the last one may be
    /// smaller), for evaluation. Each batch is new tensors the caller disposes.
    /// </summary>
    public static IEnumerable<(Tensor Images, Tensor Labels)> InOrder(ImageDataset data, int batchSize)
    {
        if (batchSize < 1)
            throw new GenSharpException($"batch size {batchSize} is invalid; use 1 or more");
        return Iterate(data, batchSize);

        static IEnumerable<(Tensor, Tensor)> Iterate(ImageDataset data, int batchSize)
        {
            int n = data.Count;
            for (int start = 0; start < n; start += batchSize)
            {
                int length = Math.Min(batchSize, n - start);
                using var index = torch.arange(start, start + length, dtype: ScalarType.Int64);
                yield return (data.Images.index_select(0, index), data.Labels.index_select(0, index));
            }
        }
    }

    long[] OrderFor(long epoch)
    {
        lock (_gate)
        {
            if (epoch != _cachedEpoch)
            {
                _cachedOrder = Permutation(Data.Count, Shuffle ? (ulong?)EpochState(Seed, epoch) : null);
                _cachedEpoch = epoch;
            }
            return _cachedOrder;
        }
    }

    /// <summary>Fisher–Yates shuffle of 0..n-1 driven by a SplitMix64 stream; identity when state is null.</summary>
    static long[] Permutation(int n, ulong? state)
    {
        var order = new long[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (state is not ulong s) return order;
        for (int i = n - 1; i > 0; i--)
        {
            s += 0x9E3779B97F4A7C15UL;
            ulong r = Mix(s);
            int j = (int)(((UInt128)r * (ulong)(i + 1)) >> 64);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    static ulong EpochState(long seed, long epoch) => Mix(Mix((ulong)seed) ^ (ulong)epoch * 0xD1B54A32D192ED03UL);

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
