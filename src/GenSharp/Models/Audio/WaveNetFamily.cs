using GenSharp.Media.Audio;

namespace GenSharp.Models.Audio;

/// <summary>Registry entry for <c>wavenet</c>.</summary>
public sealed class WaveNetFamily() : Family<WaveNetConfig>(WaveNetModel.FamilyName, (config, device) => new WaveNetModel(config, device),
    "WaveNet on raw 8 kHz speech (the Allison corpus): dilated causal convs, gated units, μ-law 256-way softmax; unconditional or a log-mel vocoder; fast queued generation, test bits/sample",
    new("0.5 s", "600 MB", 1000, "a few minutes of training gives noisy speech-like audio; the vocoder needs far longer"), defaultBatchSize: 8), IAudioFamily
{
    public MelSettings Mel(FamilyConfig config) => ((WaveNetConfig)config).Mel;
    public int CropSamples(FamilyConfig config) => ((WaveNetConfig)config).SampleLength;
    public int ValidationEvery(FamilyConfig config) => ((WaveNetConfig)config).EvalInterval;
    public int ValidationBatches(FamilyConfig config) => ((WaveNetConfig)config).EvalBatches;
}
