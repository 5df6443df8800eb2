namespace GenSharp.Models;

/// <summary>Drawing many spectrograms through a vocoder, shared by text-to-speech and audio evaluation.</summary>
public static class AudioModels
{
    /// <summary>
    /// Draws one waveform per log-mel spectrogram (Mels, frames_i) through <paramref name="vocoder"/>, <paramref name="batch"/>
    /// at a time, longest first so that each batch pads its rows to a similar length (batch k is seeded with
    /// <paramref name="seed"/> + its first index in that order). Returns each waveform (frames_i × hop samples) on the CPU,
    /// in the order of <paramref name="mels"/>.
    /// </summary>
    public static Tensor[] DrawEach(this IAudioModel vocoder, IReadOnlyList<Tensor> mels, int batch, long seed, double temperature = 1.0,
        Action<long, long>? progress = null)
    {
        if (batch < 1) throw new GenSharpException($"the vocoder batch must be ≥ 1, got {batch}");
        var audio = new Tensor[mels.Count];
        var order = Enumerable.Range(0, mels.Count).OrderByDescending(i => mels[i].shape[1]).ToArray();
        for (int start = 0; start < order.Length; start += batch)
        {
            var picked = order.Skip(start).Take(batch).ToArray();
            long total = mels[picked[0]].shape[1] * vocoder.Mel.Hop;
            using var drawn = vocoder.Generate(new AudioGenerationOptions
            {
                Mels = picked.Select(i => mels[i]).ToList(), Samples = total, Seed = seed + start, Temperature = temperature,
                Progress = progress is { } p ? k => p(k, total) : null,
            });                                                                                     // (B, longest)
            for (int k = 0; k < picked.Length; k++) audio[picked[k]] = drawn[k].narrow(0, 0, mels[picked[k]].shape[1] * vocoder.Mel.Hop).clone();
        }
        return audio;
    }
}
