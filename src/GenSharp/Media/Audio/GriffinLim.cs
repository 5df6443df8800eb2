namespace GenSharp.Media.Audio;

/// <summary>
/// A waveform whose STFT magnitude matches a given one: Griffin and Lim's iterative phase estimate (1984) with the
/// momentum of Perraudin, Balazs and Søndergaard (2013, "A fast Griffin-Lim algorithm"), on libtorch's stft/istft with
/// the analysis of <see cref="Spectrogram.Magnitude"/> (periodic Hann, centred frames). Each iteration projects onto
/// consistent spectrograms (istft then stft) and back onto the given magnitudes.
/// </summary>
public static class GriffinLim
{
    /// <summary>
    /// Audio (samples = (frames − 1) · hop) float32 on the CPU from magnitudes (NFft/2 + 1, frames). The first phase
    /// estimate is random from <paramref name="seed"/>, so a seed repeats the result.
    /// </summary>
    public static Tensor Reconstruct(Tensor magnitude, MelSettings s, int iterations = 64, double momentum = 0.99, long seed = 0)
    {
        s.Validate();
        if (magnitude.dim() != 2 || magnitude.shape[0] != s.NFft / 2 + 1)
            throw new ArgumentException($"expected magnitudes ({s.NFft / 2 + 1}, frames), got ({string.Join(", ", magnitude.shape)})");
        if (iterations < 0) throw new ArgumentException("iterations must be ≥ 0", nameof(iterations));
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var mag = magnitude.to(ScalarType.Float32).cpu();
        long frames = mag.shape[1], length = (frames - 1) * s.Hop;
        var window = torch.hann_window(s.NFft, periodic: true, dtype: ScalarType.Float32);
        using var gen = new torch.Generator((ulong)seed);
        var phase = torch.rand(mag.shape, generator: gen) * (2 * Math.PI);
        var spec = torch.polar(mag, phase);
        Tensor previous = spec;
        Tensor Audio(Tensor x) => torch.istft(x, s.NFft, s.Hop, s.NFft, window, center: true, normalized: false, onesided: true, length: length);
        for (int k = 0; k < iterations; k++)
        {
            using var inner = torch.NewDisposeScope();
            var rebuilt = torch.stft(Audio(spec), s.NFft, hop_length: s.Hop, win_length: s.NFft, window: window, center: true,
                pad_mode: PaddingModes.Reflect, normalized: false, onesided: true, return_complex: true);
            // Accelerated step: extrapolate the consistent estimate along its last change, then keep only its phase.
            var accelerated = k == 0 ? rebuilt : rebuilt + (rebuilt - previous) * momentum;
            var unit = accelerated / accelerated.abs().clamp_min(1e-12);
            previous.Dispose();
            previous = rebuilt.MoveToOuterDisposeScope();
            spec = (mag * unit).MoveToOuterDisposeScope();
        }
        return Audio(spec).clamp(-1, 1).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Spectral convergence ‖|STFT(x)| − M‖_F / ‖M‖_F: how far the magnitudes of <paramref name="audio"/> are from the
    /// target <paramref name="magnitude"/> (0 = equal).
    /// </summary>
    public static double SpectralConvergence(Tensor audio, Tensor magnitude, MelSettings s)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var m = Spectrogram.Magnitude(audio.cpu(), s);
        long frames = Math.Min(m.shape[1], magnitude.shape[1]);
        var target = magnitude.cpu().to(ScalarType.Float32).narrow(1, 0, frames);
        var diff = m.narrow(1, 0, frames) - target;
        return diff.norm().item<float>() / Math.Max(1e-12, target.norm().item<float>());
    }
}
