using GenSharp.Media.Audio;

namespace GenSharp.Models;

/// <summary>
/// A model of raw audio: it draws waveforms (unconditionally, or from a log-mel spectrogram when it is a vocoder) and
/// gives the exact negative log-likelihood of recordings.
/// </summary>
public interface IAudioModel
{
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>Sample rate of its audio (Hz).</summary>
    int SampleRate { get; }
    /// <summary>The spectrogram it is conditioned on (also used for pictures of its audio).</summary>
    MelSettings Mel { get; }
    /// <summary>Whether generation needs a mel spectrogram (a vocoder).</summary>
    bool NeedsMel { get; }
    /// <summary>Samples the prediction of one sample depends on.</summary>
    int ReceptiveField { get; }

    /// <summary>Draws waveforms; returns (Count, samples) float32 audio in [−1, 1] on the CPU.</summary>
    Tensor Generate(AudioGenerationOptions options);

    /// <summary>Mean −log p in nats per predicted sample of audio crops (B, L) with their log-mel frames (B, Mels, L / hop).</summary>
    Tensor CropLoss(Tensor audio, Tensor mel);

    /// <summary>
    /// −log p(x) in nats summed over the samples of a recording (T) in [−1, 1] (every sample is predicted, the first from
    /// silence), and the number of samples. A vocoder conditions on the recording's own log-mel spectrogram.
    /// </summary>
    (double Nats, long Samples) NegativeLogLikelihood(Tensor audio);
}

/// <summary>How <see cref="IAudioModel.Generate"/> draws.</summary>
public sealed record AudioGenerationOptions
{
    /// <summary>Waveforms to draw at once.</summary>
    public int Count { get; init; } = 1;
    /// <summary>Samples per waveform (a vocoder draws at most as many as its spectrogram covers).</summary>
    public long Samples { get; init; } = 8000;
    /// <summary>Log-mel frames (Mels, frames) to condition on, shared by every waveform; vocoders only.</summary>
    public Tensor? Mel { get; init; }
    /// <summary>
    /// Instead of <see cref="Mel"/>: one spectrogram per waveform (each (Mels, frames_i), lengths may differ), drawn
    /// together as one batch; <see cref="Count"/> is then their number. Row i of the result holds
    /// min(<see cref="Samples"/>, frames_i × hop) samples of its own audio followed by padding to the longest row.
    /// </summary>
    public IReadOnlyList<Tensor>? Mels { get; init; }
    /// <summary>Seeds the draws (a generator of its own: the global RNG is untouched).</summary>
    public long Seed { get; init; }
    /// <summary>Run the full network over the receptive field for every sample instead of the per-layer queues.</summary>
    public bool Naive { get; init; }
    /// <summary>Softmax temperature (1 = the model's distribution).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Called after each sample with the number drawn so far (progress); may be null.</summary>
    public Action<long>? Progress { get; init; }
}
