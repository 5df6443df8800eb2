namespace GenSharp.Media.Audio;

/// <summary>
/// How a log-mel spectrogram is computed: a Hann-windowed STFT (frames centred on multiples of <see cref="Hop"/>,
/// reflect-padded at the ends), magnitudes summed by triangular mel filters, natural log with a floor.
/// The defaults suit 8 kHz speech: 32 ms windows, 10 ms hop, 40 bands up to Nyquist.
/// </summary>
public sealed record MelSettings
{
    /// <summary>Sample rate of the audio (Hz).</summary>
    public int SampleRate { get; init; } = 8000;
    /// <summary>FFT size = window length (samples).</summary>
    public int NFft { get; init; } = 256;
    /// <summary>Samples between frames; also the conditioning's upsampling factor.</summary>
    public int Hop { get; init; } = 80;
    /// <summary>Mel bands.</summary>
    public int Mels { get; init; } = 40;
    /// <summary>Lowest filter edge (Hz).</summary>
    public double FMin { get; init; } = 0;
    /// <summary>Highest filter edge (Hz); 0 = Nyquist.</summary>
    public double FMax { get; init; } = 0;
    /// <summary>Floor of the magnitudes before the log.</summary>
    public double LogFloor { get; init; } = 1e-5;

    /// <summary>Throws a one-line error for an impossible setting.</summary>
    public void Validate()
    {
        if (SampleRate <= 0) throw new GenSharpException($"mel sample rate must be > 0, got {SampleRate}");
        if (NFft < 8) throw new GenSharpException($"mel n_fft must be ≥ 8, got {NFft}");
        if (Hop < 1 || Hop > NFft) throw new GenSharpException($"mel hop must be in [1, n_fft={NFft}], got {Hop}");
        if (Mels < 1 || Mels > NFft / 2) throw new GenSharpException($"mel bands must be in [1, {NFft / 2}], got {Mels}");
        double top = FMax > 0 ? FMax : SampleRate / 2.0;
        if (FMin < 0 || top <= FMin || top > SampleRate / 2.0)
            throw new GenSharpException($"mel range [{FMin}, {top}] Hz must satisfy 0 ≤ fmin < fmax ≤ {SampleRate / 2.0}");
    }

    /// <summary>Frames of an utterance of <paramref name="samples"/> samples: 1 + samples / hop (centred frames).</summary>
    public long Frames(long samples) => 1 + samples / Hop;
}
