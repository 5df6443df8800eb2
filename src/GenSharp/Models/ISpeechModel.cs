using GenSharp.Media.Audio;

namespace GenSharp.Models;

/// <summary>A text-to-speech model: text → waveform, and the spectrogram → waveform half alone (resynthesis).</summary>
public interface ISpeechModel
{
    /// <summary>Sample rate of its audio (Hz).</summary>
    int SampleRate { get; }
    /// <summary>Its spectrogram settings.</summary>
    MelSettings Mel { get; }
    /// <summary>Speaks <paramref name="text"/>.</summary>
    SpeechResult Speak(string text, SpeechOptions options);
    /// <summary>Speaks again what a recording says, from the recording's own log-mel frames (the vocoder half alone).</summary>
    SpeechResult Resynthesize(Waveform recording, SpeechOptions options);
    /// <summary>Speaks every text; a neural vocoder draws them in batches of <see cref="SpeechOptions.VocoderBatch"/>.</summary>
    IReadOnlyList<SpeechResult> SpeakAll(IReadOnlyList<string> texts, SpeechOptions options);
    /// <summary>Resynthesises every recording; a neural vocoder draws them in batches of <see cref="SpeechOptions.VocoderBatch"/>.</summary>
    IReadOnlyList<SpeechResult> ResynthesizeAll(IReadOnlyList<Waveform> recordings, SpeechOptions options);
}

/// <summary>How <see cref="ISpeechModel.Speak"/> speaks.</summary>
public sealed record SpeechOptions
{
    /// <summary>Speaking rate: 2 = twice as fast (durations halved).</summary>
    public double Speed { get; init; } = 1.0;
    /// <summary>Griffin-Lim iterations.</summary>
    public int Iterations { get; init; } = 64;
    /// <summary>Seeds the first phase estimate (Griffin-Lim) or the vocoder's draws.</summary>
    public long Seed { get; init; }
    /// <summary>
    /// A neural vocoder (a mel-conditioned WaveNet, <see cref="IAudioModel.NeedsMel"/>, at the same spectrogram
    /// settings) that draws the waveform from the predicted log-mel frames; null: post-net magnitudes and Griffin-Lim.
    /// </summary>
    public IAudioModel? Vocoder { get; init; }
    /// <summary>Utterances the vocoder draws at once (a batch costs little more per sample than one utterance).</summary>
    public int VocoderBatch { get; init; } = 16;
    /// <summary>The vocoder's softmax temperature (1 = its distribution; lower = fewer unlikely samples, less hiss).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Called as the vocoder draws: (samples drawn, samples to draw) of the current batch; may be null.</summary>
    public Action<long, long>? Progress { get; init; }
}

/// <summary>What was spoken: the audio, its log-mel frames (Mels, T) on the CPU, the phonemes, the ones left out.</summary>
public sealed record SpeechResult(Waveform Audio, Tensor LogMel, IReadOnlyList<string> Phonemes, IReadOnlyList<string> Unknown) : IDisposable
{
    public void Dispose() => LogMel.Dispose();
}
