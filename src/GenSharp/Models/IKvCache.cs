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
}
