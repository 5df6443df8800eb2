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
}

/// <summary>How <see cref="ISpeechModel.Speak"/> speaks.</summary>
public sealed record SpeechOptions
{
    /// <summary>Speaking rate: 2 = twice as fast (durations halved).</summary>
    public double Speed { get; init; } = 1.0;
    /// <summary>Griffin-Lim iterations.</summary>
    public int Iterations { get; init; } = 64;
    /// <summary>Seeds the first phase estimate.</summary>
    public long Seed { get; init; }
}

/// <summary>What was spoken: the audio, its log-mel frames (Mels, T) on the CPU, the phonemes, the ones left out.</summary>
public sealed record SpeechResult(Waveform Audio, Tensor LogMel, IReadOnlyList<string> Phonemes, IReadOnlyList<string> Unknown) : IDisposable
{
    public void Dispose() => LogMel.Dispose();
}
