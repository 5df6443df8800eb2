using System.Diagnostics;
using GenSharp.Evaluation;
using GenSharp.Media.Audio;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>What <see cref="AudioEvaluation.Run"/> measured on held-out recordings.</summary>
/// <param name="BitsPerSample">Exact test negative log-likelihood, summed over every sample of every recording / samples / ln 2.</param>
/// <param name="Samples">Samples scored.</param>
/// <param name="Recordings">Recordings scored.</param>
/// <param name="Resynthesized">Recordings a vocoder drew again from their own log-mel frames (0 for an unconditional model).</param>
/// <param name="LogSpectralDistance">Mean log-spectral distance (dB) of those resyntheses to their sources; NaN when none.</param>
/// <param name="MelCepstralDistortion">Mean mel-cepstral distortion (dB), likewise.</param>
/// <param name="RealTimeFactor">Seconds of compute per second of resynthesised audio; NaN when none.</param>
public sealed record AudioEvaluationResult(double BitsPerSample, long Samples, int Recordings, int Resynthesized,
    double LogSpectralDistance, double MelCepstralDistortion, double RealTimeFactor);

/// <summary>
/// The test metrics of an audio model (issue 19): the exact negative log-likelihood of held-out recordings in bits per
/// sample and, for a vocoder, resynthesis of the first recordings from their own log-mel spectrograms — drawn in batches
/// of recordings of similar length — scored by log-spectral distance and mel-cepstral distortion against the originals.
/// </summary>
public static class AudioEvaluation
{
    public static AudioEvaluationResult Run(IAudioModel model, IReadOnlyList<Waveform> recordings, int resynthesize = int.MaxValue,
        int batch = 24, long seed = 0, Action<string>? log = null)
    {
        if (recordings.Count == 0) throw new GenSharpException("no recording to evaluate");
        if (batch < 1) throw new GenSharpException($"the resynthesis batch must be ≥ 1, got {batch}");
        foreach (var r in recordings)
            if (r.SampleRate != model.SampleRate)
                throw new GenSharpException($"a recording is {r.SampleRate} Hz; the model works at {model.SampleRate} Hz (convert it with 'sox IN.wav -r {model.SampleRate} OUT.wav')");
        double nats = 0;
        long samples = 0;
        foreach (var r in recordings)
        {
            using var audio = r.ToTensor();
            var (n, k) = model.NegativeLogLikelihood(audio);
            nats += n;
            samples += k;
        }
        log?.Invoke($"test NLL: {nats / samples / Math.Log(2):F4} bits per sample over {recordings.Count} recordings ({samples:N0} samples)");
        int count = model.NeedsMel ? Math.Min(resynthesize, recordings.Count) : 0;
        double lsd = 0, mcd = 0, compute = 0, seconds = 0;
        // Longest first, so each batch pads its rows to a similar length.
        var order = Enumerable.Range(0, count).OrderByDescending(i => recordings[i].Samples.Length).ToArray();
        for (int start = 0; start < count; start += batch)
        {
            using var scope = torch.NewDisposeScope();
            var picked = order.Skip(start).Take(batch).ToArray();
            var sources = picked.Select(i => recordings[i].ToTensor()).ToArray();
            var mels = sources.Select(a => Spectrogram.LogMel(a, model.Mel)).ToList();
            var clock = Stopwatch.StartNew();
            var drawn = model.Generate(new AudioGenerationOptions { Mels = mels, Samples = long.MaxValue, Seed = seed + start }); // (B, longest)
            compute += clock.Elapsed.TotalSeconds;
            for (int j = 0; j < picked.Length; j++)
            {
                long length = Math.Min(sources[j].shape[0], drawn.shape[1]);
                var mine = drawn[j].narrow(0, 0, length);
                lsd += AudioDistance.LogSpectral(sources[j], mine, model.Mel);
                mcd += AudioDistance.MelCepstral(sources[j], mine, model.Mel);
                seconds += (double)length / model.SampleRate;
            }
            log?.Invoke($"resynthesised {Math.Min(start + batch, count)}/{count} recordings ({compute:F0} s of compute)");
        }
        return new AudioEvaluationResult(nats / samples / Math.Log(2), samples, recordings.Count, count,
            count > 0 ? lsd / count : double.NaN, count > 0 ? mcd / count : double.NaN, count > 0 ? compute / seconds : double.NaN);
    }
}
