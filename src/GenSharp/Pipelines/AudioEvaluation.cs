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
        double lsd = 0, mcd = 0, seconds = 0;
        using var scope = torch.NewDisposeScope();
        var sources = recordings.Take(count).Select(r => r.ToTensor()).ToList();
        var clock = Stopwatch.StartNew();
        int batches = 0;
        var drawn = model.DrawEach(sources.Select(a => Spectrogram.LogMel(a, model.Mel)).ToList(), batch, seed,
            progress: (k, total) => { if (k == total) log?.Invoke($"resynthesised batch {++batches} of {(count + batch - 1) / batch} ({clock.Elapsed.TotalSeconds:F0} s of compute)"); });
        double compute = clock.Elapsed.TotalSeconds;
        for (int j = 0; j < count; j++)
        {
            long length = Math.Min(sources[j].shape[0], drawn[j].shape[0]);
            var mine = drawn[j].narrow(0, 0, length);
            lsd += AudioDistance.LogSpectral(sources[j], mine, model.Mel);
            mcd += AudioDistance.MelCepstral(sources[j], mine, model.Mel);
            seconds += (double)length / model.SampleRate;
        }
        return new AudioEvaluationResult(nats / samples / Math.Log(2), samples, recordings.Count, count,
            count > 0 ? lsd / count : double.NaN, count > 0 ? mcd / count : double.NaN, count > 0 ? compute / seconds : double.NaN);
    }
}
