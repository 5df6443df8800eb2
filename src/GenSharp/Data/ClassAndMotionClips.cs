namespace GenSharp.Data;

/// <summary>
/// Moving Fashion-MNIST batches whose targets say what a clip shows: (B, 2) int64, the first garment's class and
/// the motion class of its initial velocity (<see cref="MovingFashionMnist.Quadrant"/>, 0…3). The clips are those of
/// the wrapped generator, step for step.
/// </summary>
public sealed class ClassAndMotionClips(MovingFashionMnist clips) : IBatchSource
{
    public int BatchesPerEpoch => clips.BatchesPerEpoch;

    /// <summary>Clips (B, T, 1, S, S) uint8 and targets (B, 2) int64: class, direction.</summary>
    public (Tensor Inputs, Tensor Targets) GetBatch(long step)
    {
        var (x, infos) = clips.Clips(step * clips.BatchSize, clips.BatchSize);
        var targets = infos.SelectMany(i => new long[] { i.Classes[0], i.Direction }).ToArray();
        return (x, torch.tensor(targets, new long[] { infos.Count, 2 }, dtype: ScalarType.Int64));
    }
}
