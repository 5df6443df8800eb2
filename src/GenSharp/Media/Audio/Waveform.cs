namespace GenSharp.Media.Audio;

/// <summary>Mono audio as 16-bit samples at a sample rate.</summary>
/// <param name="Samples">The samples, −32768…32767.</param>
/// <param name="SampleRate">Samples per second.</param>
public sealed record Waveform(short[] Samples, int SampleRate)
{
    /// <summary>Length in seconds.</summary>
    public double Seconds => (double)Samples.Length / SampleRate;

    /// <summary>The samples as a float32 CPU tensor (T) in [−1, 1): sample / 32768.</summary>
    public Tensor ToTensor()
    {
        var f = new float[Samples.Length];
        for (int i = 0; i < f.Length; i++) f[i] = Samples[i] / 32768f;
        return torch.tensor(f);
    }

    /// <summary>
    /// A waveform from a tensor (T) of floats in [−1, 1] (any device): scaled by 32768, rounded to the nearest
    /// integer and clipped to the 16-bit range.
    /// </summary>
    public static Waveform FromTensor(Tensor audio, int sampleRate)
    {
        if (audio.dim() != 1) throw new ArgumentException($"expected a 1-D waveform, got shape [{string.Join(", ", audio.shape)}]");
        using var scope = torch.NewDisposeScope();
        using var scale = 32768.0.ToScalar();
        using var lo = (-32768.0).ToScalar();
        using var hi = 32767.0.ToScalar();
        var ints = (audio.to(ScalarType.Float64).cpu() * scale).round().clamp(lo, hi).to(ScalarType.Int16);
        return new Waveform(ints.data<short>().ToArray(), sampleRate);
    }

    /// <summary>The samples from <paramref name="start"/>, at most <paramref name="count"/> of them.</summary>
    public Waveform Slice(int start, int count) =>
        new(Samples.AsSpan(start, Math.Min(count, Samples.Length - start)).ToArray(), SampleRate);
}
