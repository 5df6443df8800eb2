namespace GenSharp.Models;

/// <summary>
/// Keys and values of every attention layer for the tokens seen so far, so decoding feeds only the
/// new token instead of the whole sequence. Buffers of (B, H, capacity, D) per layer are allocated on
/// first use, filled in place and doubled when full (up to MaxLength); H is the model's key/value heads
/// (fewer than its query heads under grouped-query attention); they live outside any dispose scope until the cache is disposed.
/// </summary>
public sealed class KvCache : IKvCache, IDisposable
{
    readonly (Tensor K, Tensor V)?[] _layers;

    /// <param name="layers">Attention layers of the model.</param>
    /// <param name="maxLength">Most tokens the cache holds (the model's context length).</param>
    public KvCache(int layers, int maxLength)
    {
        _layers = new (Tensor, Tensor)?[layers];
        MaxLength = maxLength;
    }

    /// <summary>Tokens cached so far (the position of the next token).</summary>
    public int Length { get; private set; }

    /// <summary>Capacity in tokens.</summary>
    public int MaxLength { get; }

    /// <summary>Positions Length … Length + T − 1, shared by every row, (T).</summary>
    public Tensor Positions(long fresh, Device device) => torch.arange(Length, Length + fresh, dtype: ScalarType.Int64, device: device);

    public int End(long fresh) => Length + (int)fresh;

    /// <summary>
    /// Stores the keys/values (B, H, T, D) of T new tokens for <paramref name="layer"/>
    /// after the <see cref="Length"/> cached ones and returns all of them, (B, H, Length + T, D) views, with no mask
    /// (the new tokens are the last T).
    /// </summary>
    public (Tensor K, Tensor V, Tensor? Mask) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > MaxLength)
            throw new InvalidOperationException($"KV cache holds {MaxLength} tokens; {Length} cached + {t} new do not fit");
        var buffers = Buffers(layer, Length + t, k.shape[0], k.shape[1], k.shape[3], k.dtype, k.device);
        using (torch.no_grad())
        {
            buffers.K.narrow(2, Length, t).copy_(k);
            buffers.V.narrow(2, Length, t).copy_(v);
        }
        return (buffers.K.narrow(2, 0, Length + t), buffers.V.narrow(2, 0, Length + t), null);
    }

    /// <summary>
    /// The layer's buffers, able to hold <paramref name="need"/> tokens of <paramref name="rows"/> rows: kept, or
    /// reallocated, growing by doubling (from 256 tokens) up to MaxLength so a model with a long context (32k, 128k) does
    /// not reserve it all for a short conversation; the cached tokens move to the new buffers when the rows are the same.
    /// </summary>
    (Tensor K, Tensor V) Buffers(int layer, long need, long rows, long heads, long headDim, ScalarType dtype, Device device)
    {
        var old = _layers[layer];
        bool same = old is { } o && o.K.shape[0] == rows && o.K.shape[1] == heads;
        if (same && old!.Value.K.shape[2] >= need) return old.Value;
        long capacity = Math.Min(MaxLength, Math.Max(need, Math.Max(256, 2 * (old?.K.shape[2] ?? 0))));
        var shape = new[] { rows, heads, capacity, headDim };
        var grown = (torch.zeros(shape, dtype, device).DetachFromDisposeScope(), torch.zeros(shape, dtype, device).DetachFromDisposeScope());
        if (old is { } before)
        {
            if (same && Length > 0)
                using (torch.no_grad())
                {
                    grown.Item1.narrow(2, 0, Length).copy_(before.K.narrow(2, 0, Length));
                    grown.Item2.narrow(2, 0, Length).copy_(before.V.narrow(2, 0, Length));
                }
            before.K.Dispose();
            before.V.Dispose();
        }
        _layers[layer] = grown;
        return grown;
    }

    /// <summary>Every row's token at position <see cref="Length"/> (see <see cref="IKvCache.PrepareOneTokenStep"/>).</summary>
    public OneTokenStep? PrepareOneTokenStep(long rows)
    {
        if (Length + 1 > MaxLength) return null;                                               // Append reports it
        var keys = new Tensor[_layers.Length];
        var values = new Tensor[_layers.Length];
        for (int i = 0; i < _layers.Length; i++)
        {
            if (_layers[i] is not { } have || have.K.shape[0] != rows) return null;
            var b = Buffers(i, Length + 1, rows, have.K.shape[1], have.K.shape[3], have.K.dtype, have.K.device);
            (keys[i], values[i]) = (b.K, b.V);
        }
        var device = keys[0].device;
        return new(keys, values, torch.arange(rows, dtype: ScalarType.Int64, device: device),
            torch.full(rows, Length, dtype: ScalarType.Int64, device: device), 0, Length + 1, null, Length);
    }

    /// <summary>Marks <paramref name="t"/> more tokens as cached (called once per forward pass, after every layer appended).</summary>
    public void Advance(int t) => Length += t;

    /// <summary>Forgets the cached tokens from position <paramref name="length"/> on (drafts that were not kept).</summary>
    public void Truncate(int length)
    {
        if (length < 0 || length > Length) throw new ArgumentOutOfRangeException(nameof(length), length, $"between 0 and the {Length} cached tokens");
        Length = length;
    }

    /// <summary>Forgets every cached token (the buffers are kept for reuse).</summary>
    public void Reset() => Length = 0;

    public void Dispose()
    {
        foreach (var l in _layers)
            if (l is { } b) { b.K.Dispose(); b.V.Dispose(); }
        Array.Clear(_layers);
    }
}
