using GenSharp.Data;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Training batches of a video family's shape for the throughput bench: uint8 clips (B, T, 1, S, S) uniform in 0…255 and
/// labels (B) uniform in 0…classes−1, a fixed pool cycled, drawn from one seeded generator in the order
/// bench/pytorch/videodiffusion.py's SyntheticClips draws them. Rendering Moving Fashion-MNIST is the batch source's
/// work, outside the timed step, and the values do not change a step's work.
/// </summary>
static class SyntheticVideo
{
    public static List<(Tensor Clips, Tensor Labels)> Pool(MovingFashionMnistOptions data, int classes, int batch, int count = 8, long seed = 0)
    {
        using var gen = new torch.Generator((ulong)seed);
        var shape = new long[] { batch, data.Frames, 1, data.FrameSize, data.FrameSize };
        var pool = new List<(Tensor, Tensor)>();
        for (int i = 0; i < count; i++)
            pool.Add((torch.randint(0, 256, shape, dtype: ScalarType.Byte, generator: gen),
                      torch.randint(0, classes, new long[] { batch }, dtype: ScalarType.Int64, generator: gen)));
        return pool;
    }
}
