using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Models;

/// <summary>
/// Keys and values of every attention layer for the tokens seen so far, so decoding feeds only the
/// new token instead of the whole sequence. Buffers of (B, H, MaxLength, D) per layer are allocated on
/// first use and filled in place; they live outside any dispose scope until the cache is disposed.
/// </summary>
public sealed class KvCache : IDisposable
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

    /// <summary>
    /// Stores the keys/values (B, H, T, D) of <paramref name="t"/> new tokens for <paramref name="layer"/>
    /// after the <see cref="Length"/> cached ones and returns all of them, (B, H, Length + T, D) views.
    /// </summary>
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > MaxLength)
            throw new InvalidOperationException($"KV cache holds {MaxLength} tokens; {Length} cached + {t} new do not fit");
        if (_layers[layer] is not { } buffers || buffers.K.shape[0] != k.shape[0])
        {
            if (_layers[layer] is { } old) { old.K.Dispose(); old.V.Dispose(); }
            var shape = new[] { k.shape[0], k.shape[1], MaxLength, k.shape[3] };
            buffers = (torch.zeros(shape, k.dtype, k.device).DetachFromDisposeScope(),
                       torch.zeros(shape, v.dtype, v.device).DetachFromDisposeScope());
            _layers[layer] = buffers;
        }
        using (torch.no_grad())
        {
            buffers.K.narrow(2, Length, t).copy_(k);
            buffers.V.narrow(2, Length, t).copy_(v);
        }
        return (buffers.K.narrow(2, 0, Length + t), buffers.V.narrow(2, 0, Length + t));
    }

    /// <summary>Marks <paramref name="t"/> more tokens as cached (called once per forward pass, after every layer appended).</summary>
    public void Advance(int t) => Length += t;

    /// <summary>Forgets every cached token (the buffers are kept for reuse).</summary>
    public void Reset() => Length = 0;

    public void Dispose()
    {
        foreach (var l in _layers)
            if (l is { } b) { b.K.Dispose(); b.V.Dispose(); }
        Array.Clear(_layers);
    }
}
