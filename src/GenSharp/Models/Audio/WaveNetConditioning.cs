namespace GenSharp.Models.Audio;

/// <summary>What a WaveNet is conditioned on.</summary>
public enum WaveNetConditioning
{
    /// <summary>Nothing: an unconditional model of the waveform.</summary>
    None,
    /// <summary>The log-mel spectrogram of the audio (a vocoder), upsampled to the sample rate.</summary>
    Mel,
}
