namespace GenSharp.Models;

/// <summary>An autoregressive model over token ids: next-token logits with an optional KV cache, and its loss.</summary>
public interface ILanguageModel : ITextLoss
{
    /// <summary>Most tokens the model attends to.</summary>
    int ContextLength { get; }

    /// <summary>Number of token ids.</summary>
    int VocabSize { get; }

    /// <summary>Device the model lives on.</summary>
    Device Device { get; }

    /// <summary>An empty cache sized for this model (the caller disposes it).</summary>
    KvCache CreateCache();

    /// <summary>An empty cache of <paramref name="slots"/> rows of independent lengths, for continuous batching (the caller disposes it).</summary>
    SlotKvCache CreateSlotCache(int slots);

    /// <summary>
    /// Next-token logits for int64 tokens (B, T) on the model's device: (B, T, V), or (B, 1, V) for the
    /// last position only when <paramref name="lastOnly"/>. With a cache, each row's tokens continue its cached
    /// ones (at <see cref="IKvCache.Positions"/>) and are appended to it. Runs in eval mode, without gradients.
    /// </summary>
    Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false);

    /// <summary>Mean next-token cross-entropy in nats/token of <paramref name="targets"/> (B, T) given <paramref name="inputs"/> (B, T), in eval mode.</summary>
    new double Loss(Tensor inputs, Tensor targets);
}
