namespace GenSharp.Media.Audio;

/// <summary>
/// Short-time Fourier transform and log-mel spectrogram through libtorch (<c>torch.stft</c>), and the mel
/// filterbank. Audio tensors are (T) or (B, T) floats in [−1, 1] on any device.
/// </summary>
public static class Spectrogram
{
    /// <summary>Hz → mel on the HTK scale, 2595·log10(1 + f/700).</summary>
    public static double HzToMel(double hz) => 2595 * Math.Log10(1 + hz / 700);

    /// <summary>mel → Hz, the inverse of <see cref="HzToMel"/>.</summary>
    public static double MelToHz(double mel) => 700 * (Math.Pow(10, mel / 2595) - 1);

    /// <summary>
    /// STFT magnitudes |X| (…, NFft/2 + 1, frames), float32: Hann window of NFft samples (periodic), frames centred on
    /// multiples of the hop with reflect padding, one-sided.
    /// </summary>
    public static Tensor Magnitude(Tensor audio, MelSettings s)
    {
        s.Validate();
        using var scope = torch.NewDisposeScope();
        var x = audio.to(ScalarType.Float32);
        using var window = torch.hann_window(s.NFft, periodic: true, dtype: ScalarType.Float32, device: x.device);
        var spec = torch.stft(x, s.NFft, hop_length: s.Hop, win_length: s.NFft, window: window, center: true,
            pad_mode: PaddingModes.Reflect, normalized: false, onesided: true, return_complex: true); // (…, F, frames) complex
        return spec.abs().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Triangular mel filters (Mels, NFft/2 + 1), float32 on the CPU. Filter i rises linearly in mel from centre i−1
    /// to centre i and falls to centre i+1; the Mels + 2 edge points are equally spaced in mel from FMin to FMax. So
    /// each filter peaks at 1 and between the first and last centre the filters sum to 1 at every FFT bin.
    /// </summary>
    public static Tensor MelFilterbank(MelSettings s)
    {
        s.Validate();
        int bins = s.NFft / 2 + 1;
        double lo = HzToMel(s.FMin), hi = HzToMel(s.FMax > 0 ? s.FMax : s.SampleRate / 2.0);
        var edges = Enumerable.Range(0, s.Mels + 2).Select(i => lo + (hi - lo) * i / (s.Mels + 1)).ToArray();
        var w = new float[s.Mels * bins];
        for (int k = 0; k < bins; k++)
        {
            double m = HzToMel((double)k * s.SampleRate / s.NFft);
            for (int i = 0; i < s.Mels; i++)
            {
                double up = (m - edges[i]) / (edges[i + 1] - edges[i]);
                double down = (edges[i + 2] - m) / (edges[i + 2] - edges[i + 1]);
                w[i * bins + k] = (float)Math.Max(0, Math.Min(up, down));
            }
        }
        return torch.tensor(w).view(s.Mels, bins);
    }

    /// <summary>log(max(mel · |X|, floor)): (…, Mels, frames), float32, on the audio's device.</summary>
    public static Tensor LogMel(Tensor audio, MelSettings s)
    {
        using var scope = torch.NewDisposeScope();
        var mag = Magnitude(audio, s);                                                    // (…, F, frames)
        var bank = MelFilterbank(s).to(mag.device);                                       // (Mels, F)
        var mel = torch.matmul(bank, mag);                                                // (…, Mels, frames)
        using var floor = s.LogFloor.ToScalar();   // held for the call: a temporary Scalar can be finalised mid-call
        return mel.clamp_min(floor).log().MoveToOuterDisposeScope();
    }
}
