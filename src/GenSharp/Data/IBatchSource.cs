namespace GenSharp.Data;

/// <summary>
/// What the trainer draws batches from. The batch of a step depends only on the step (and the
/// source's seed), so a resumed run sees exactly the batches an uninterrupted one would have seen.
/// </summary>
public interface IBatchSource
{
    /// <summary>Batches in one pass over the data (what <c>--epochs</c> counts).</summary>
    int BatchesPerEpoch { get; }

    /// <summary>
    /// The batch for global step <paramref name="step"/>, on the CPU, new tensors owned by the caller.
    /// Image data: uint8 images (B, C, H, W) and int64 labels (B). Text: int64 input tokens (B, T) and
    /// the next-token targets (B, T).
    /// </summary>
    (Tensor Inputs, Tensor Targets) GetBatch(long step);
}
