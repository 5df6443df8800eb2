namespace GenSharp.Models;

/// <summary>
/// A key/value cache of fixed rows ("slots"), each holding its own sequence of its own length: the cache behind
/// continuous batching, where sequences join and leave a running batch at any step. Buffers per layer are
/// (slots, Hkv, capacity, D), allocated on first use and doubled along the token axis as the longest row grows
/// (up to <see cref="MaxLength"/>). A forward pass covers the consecutive slots chosen by <see cref="Select"/>; each of
/// those rows continues at its own position, and its queries see only its own keys (a mask hides the rest of a
/// longer neighbour's span). Keep the running rows at the front (<see cref="Move"/> a row into a freed slot), so the
/// keys of a step are a view, never a gather.
/// </summary>
public sealed class SlotKvCache : IKvCache, IDisposable
{
    readonly (Tensor K, Tensor V)?[] _layers;
    readonly int[] _lengths;
    int _first, _count = 1;
    Tensor? _mask;                  // the step's mask, made by the first layer and shared by the rest (owned here: layers run in scopes of their own)
    long _maskFresh = -1;

    /// <param name="layers">Attention layers of the model.</param>
    /// <param name="slots">Rows; at most this many sequences are cached at once.</param>
    /// <param name="maxLength">Most tokens a row holds (the model's context length).</param>
    public SlotKvCache(int layers, int slots, int maxLength)
    {
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), "a slot cache needs at least one slot");
        _layers = new (Tensor, Tensor)?[layers];
        _lengths = new int[slots];
        MaxLength = maxLength;
    }

    /// <summary>Rows of the cache.</summary>
    public int Slots => _lengths.Length;

    /// <summary>Most tokens a row holds.</summary>
    public int MaxLength { get; }

    /// <summary>Tokens cached in <paramref name="slot"/> (the position of its next token).</summary>
    public int Length(int slot) => _lengths[slot];

    /// <summary>Chooses the rows of the next forward pass: slots <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1, in that order.</summary>
    public void Select(int first, int count)
    {
        if (first < 0 || count < 1 || first + count > Slots)
            throw new ArgumentOutOfRangeException(nameof(count), $"slots {first}…{first + count - 1} are not all in a cache of {Slots}");
        (_first, _count) = (first, count);
        DropMask();
    }

    /// <summary>Empties <paramref name="slot"/> (its buffers are kept for the next sequence).</summary>
    public void Clear(int slot) => _lengths[slot] = 0;

    /// <summary>Moves the sequence of slot <paramref name="from"/> into slot <paramref name="to"/> (whose sequence is dropped) and empties <paramref name="from"/>.</summary>
    public void Move(int from, int to)
    {
        if (from == to) return;
        Copy(from, to);
        _lengths[from] = 0;
    }

    /// <summary>Copies the sequence of slot <paramref name="from"/> into slot <paramref name="to"/> too (n choices of one prompt share its prefill).</summary>
    public void Copy(int from, int to)
    {
        if (from == to) return;
        int length = _lengths[from];
        if (length > 0)
            using (torch.no_grad())
            using (torch.NewDisposeScope())
                foreach (var l in _layers)
                    if (l is { } b)
                    {
                        b.K[to].narrow(1, 0, length).copy_(b.K[from].narrow(1, 0, length));
                        b.V[to].narrow(1, 0, length).copy_(b.V[from].narrow(1, 0, length));
                    }
        _lengths[to] = length;
    }

    /// <summary>(T) positions when the selected rows are all at one position (one row, or rows in step), else (B, T).</summary>
    public Tensor Positions(long fresh, Device device)
    {
        if (Uniform) return torch.arange(_lengths[_first], _lengths[_first] + fresh, dtype: ScalarType.Int64, device: device);
        var starts = torch.tensor(_lengths.AsSpan(_first, _count).ToArray().Select(x => (long)x).ToArray(), dtype: ScalarType.Int64, device: device);
        using var offsets = torch.arange(fresh, dtype: ScalarType.Int64, device: device);
        using (starts)
            return starts.unsqueeze(1) + offsets.unsqueeze(0);                                  // (B, T)
    }

    public int End(long fresh)
    {
        int longest = 0;
        for (int s = _first; s < _first + _count; s++) longest = Math.Max(longest, _lengths[s]);
        return longest + (int)fresh;
    }

    bool Uniform
    {
        get
        {
            for (int s = _first + 1; s < _first + _count; s++)
                if (_lengths[s] != _lengths[_first]) return false;
            return true;
        }
    }

    public (Tensor K, Tensor V, Tensor? Mask) Append(int layer, Tensor k, Tensor v)
    {
        long b = k.shape[0], t = k.shape[2];
        if (b != _count) throw new InvalidOperationException($"the forward pass feeds {b} rows but {_count} slots are selected");
        int end = End(t);
        if (end > MaxLength) throw new InvalidOperationException($"a slot holds {MaxLength} tokens; {end} do not fit");
        var buffers = Buffers(layer, end, k.shape[1], k.shape[3], k.dtype, k.device);
        var rowsK = buffers.K.narrow(0, _first, b);
        var rowsV = buffers.V.narrow(0, _first, b);
        using (torch.no_grad())
        {
            if (Uniform)
            {
                rowsK.narrow(2, _lengths[_first], t).copy_(k);
                rowsV.narrow(2, _lengths[_first], t).copy_(v);
            }
            else
                for (int r = 0; r < b; r++)
                {
                    rowsK[r].narrow(1, _lengths[_first + r], t).copy_(k[r]);
                    rowsV[r].narrow(1, _lengths[_first + r], t).copy_(v[r]);
                }
        }
        var keys = rowsK.narrow(2, 0, end);
        var values = rowsV.narrow(2, 0, end);
        if (Uniform) return (keys, values, null);                                              // every row's fresh tokens are its last
        if (_maskFresh != t)
        {
            DropMask();
            (_mask, _maskFresh) = (Mask(t, end, k.device), t);
        }
        return (keys, values, _mask);
    }

    /// <summary>Query i of row r (at position start_r + i) sees keys 0 … start_r + i: (B, 1, T, L) bool.</summary>
    Tensor Mask(long fresh, int end, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var starts = torch.tensor(_lengths.AsSpan(_first, _count).ToArray().Select(x => (long)x).ToArray(), dtype: ScalarType.Int64, device: device);
        var last = starts.view(-1, 1, 1, 1) + torch.arange(fresh, dtype: ScalarType.Int64, device: device).view(1, 1, -1, 1);   // (B, 1, T, 1)
        var keys = torch.arange(end, dtype: ScalarType.Int64, device: device).view(1, 1, 1, -1);                               // (1, 1, 1, L)
        return keys.le(last).DetachFromDisposeScope();
    }

    /// <summary>The layer's buffers, allocated or grown (doubling from 256 tokens, at most MaxLength) to hold <paramref name="need"/> tokens.</summary>
    (Tensor K, Tensor V) Buffers(int layer, int need, long heads, long headDim, ScalarType dtype, Device device)
    {
        if (_layers[layer] is { } have && have.K.shape[2] >= need) return have;
        long old = _layers[layer]?.K.shape[2] ?? 0;
        long capacity = Math.Min(MaxLength, Math.Max(need, Math.Max(256, 2 * old)));
        var shape = new[] { (long)Slots, heads, capacity, headDim };
        var grown = (torch.zeros(shape, dtype, device).DetachFromDisposeScope(), torch.zeros(shape, dtype, device).DetachFromDisposeScope());
        if (_layers[layer] is { } before)
        {
            using (torch.no_grad())
            {
                grown.Item1.narrow(2, 0, old).copy_(before.K);
                grown.Item2.narrow(2, 0, old).copy_(before.V);
            }
            before.K.Dispose();
            before.V.Dispose();
        }
        _layers[layer] = grown;
        return grown;
    }

    /// <summary>Each selected row's token at its own length (see <see cref="IKvCache.PrepareOneTokenStep"/>).</summary>
    public OneTokenStep? PrepareOneTokenStep(long rows)
    {
        if (rows != _count) return null;
        int end = End(1);
        if (end > MaxLength) return null;                                                      // Append reports it
        var keys = new Tensor[_layers.Length];
        var values = new Tensor[_layers.Length];
        for (int i = 0; i < _layers.Length; i++)
        {
            if (_layers[i] is not { } have) return null;
            var b = Buffers(i, end, have.K.shape[1], have.K.shape[3], have.K.dtype, have.K.device);
            (keys[i], values[i]) = (b.K, b.V);
        }
        var device = keys[0].device;
        var positions = torch.tensor(_lengths.AsSpan(_first, _count).ToArray().Select(x => (long)x).ToArray(), dtype: ScalarType.Int64, device: device);
        return new(keys, values, torch.arange(_first, _first + _count, dtype: ScalarType.Int64, device: device), positions,
            _first, end, Uniform ? null : Mask(1, end, device), Uniform ? _lengths[_first] : null);
    }

    public void Advance(int fresh)
    {
        for (int s = _first; s < _first + _count; s++) _lengths[s] += fresh;
        DropMask();
    }

    void DropMask()
    {
        _mask?.Dispose();
        _mask = null;
        _maskFresh = -1;
    }

    public void Dispose()
    {
        DropMask();
        foreach (var l in _layers)
            if (l is { } b) { b.K.Dispose(); b.V.Dispose(); }
        Array.Clear(_layers);
    }
}
