namespace GenSharp.Models;

/// <summary>
/// What a decoder's attention layers need from a key/value cache during one forward pass: where the fed tokens sit,
/// somewhere to keep their keys and values, and which cached keys each of them may attend to.
/// <see cref="KvCache"/> holds rows that all have the same length (one prompt, or a batch decoded in lockstep);
/// <see cref="SlotKvCache"/> holds rows of different lengths (continuous batching).
/// </summary>
public interface IKvCache
{
    /// <summary>
    /// Positions of the <paramref name="fresh"/> tokens about to be fed, int64 on <paramref name="device"/>: (T) when
    /// every row continues from the same position, (B, T) when rows sit at different positions. The caller disposes it.
    /// </summary>
    Tensor Positions(long fresh, Device device);

    /// <summary>The largest position + 1 of the fresh tokens over the rows (checked against the model's context).</summary>
    int End(long fresh);

    /// <summary>
    /// Stores the keys and values (B, Hkv, T, D) of the fresh tokens for <paramref name="layer"/> and returns everything
    /// they attend over: keys and values (B, Hkv, L, D) and a boolean mask (B, 1, T, L) of the keys each query may see,
    /// or null when the fresh tokens are the last T of all L (plain causal attention).
    /// </summary>
    (Tensor K, Tensor V, Tensor? Mask) Append(int layer, Tensor k, Tensor v);

    /// <summary>Marks the fresh tokens as cached (called once per forward pass, after every layer appended).</summary>
    void Advance(int fresh);

    /// <summary>
    /// Readies a forward pass that feeds one token per row to every layer at once (the scripted decoder writes the keys and
    /// values into the buffers itself): grows each layer's buffers to hold it and says where each row's token goes. Null
    /// when the pass cannot be taken that way (a layer has no buffers yet, or they were made for another batch); the
    /// layers then <see cref="Append"/> one by one. The caller disposes the step and still calls <see cref="Advance"/>.
    /// </summary>
    OneTokenStep? PrepareOneTokenStep(long rows) => null;
}

/// <summary>
/// Where a forward pass of one token per row puts its keys and values (<see cref="IKvCache.PrepareOneTokenStep"/>): per
/// layer the whole key and value buffers (S, Hkv, capacity, D); row r's token goes to buffer row <see cref="Rows"/>[r] at
/// position <see cref="Positions"/>[r]; the B rows attend over buffer rows <see cref="First"/> … First + B − 1, positions
/// 0 … <see cref="End"/> − 1, through <see cref="Mask"/> (B, 1, 1, End) or, when it is null, all of them.
/// </summary>
public sealed class OneTokenStep(Tensor[] keys, Tensor[] values, Tensor rows, Tensor positions, int first, int end, Tensor? mask,
    int? sharedPosition = null) : IDisposable
{
    public Tensor[] Keys { get; } = keys;
    public Tensor[] Values { get; } = values;
    public Tensor Rows { get; } = rows;
    public Tensor Positions { get; } = positions;
    public int First { get; } = first;
    public int End { get; } = end;
    public Tensor? Mask { get; } = mask;

    /// <summary>The position every row's token goes to when they share one (then Rows are First … First + B − 1), else null.</summary>
    public int? SharedPosition { get; } = sharedPosition;

    /// <summary>Frees the step's index tensors and mask (the buffers belong to the cache).</summary>
    public void Dispose()
    {
        Rows.Dispose();
        Positions.Dispose();
        Mask?.Dispose();
    }
}
