using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

/// <summary>
/// Training batches of an audio family's shape for the throughput bench: crops (B, L) uniform in [−0.9, 0.9] and log-mel
/// frames (B, Mels, L / hop) from N(0, 1), a fixed pool cycled (bench/pytorch/wavenet.py's SyntheticCrops). A real
/// spectrogram is the batch source's work, outside the timed step, and the values do not change a step's work.
/// </summary>
static class SyntheticAudio
{
    public static List<(Tensor Audio, Tensor Mel)> Pool(IAudioFamily family, GenSharp.Models.FamilyConfig config, int batch, int count = 8, long seed = 0)
    {
        int length = family.CropSamples(config);
        var mel = family.Mel(config);
        using var gen = new torch.Generator((ulong)seed);
        var pool = new List<(Tensor, Tensor)>();
        for (int i = 0; i < count; i++)
            pool.Add((torch.rand(new long[] { batch, length }, generator: gen) * 1.8 - 0.9,
                      torch.randn(new long[] { batch, mel.Mels, length / mel.Hop }, generator: gen)));
        return pool;
    }
}
