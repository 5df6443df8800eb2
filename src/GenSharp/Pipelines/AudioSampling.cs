using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Media.Audio;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>What <see cref="AudioSampling.Run"/> draws.</summary>
public sealed record AudioSamplingOptions
{
    /// <summary>Seconds of audio (a vocoder draws at most as long as its source recording).</summary>
    public double Seconds { get; init; } = 1.0;
    /// <summary>Vocoders: the recording whose log-mel spectrogram is resynthesised — a WAV path, or <c>test:K</c> for the
    /// K-th held-out Allison utterance.</summary>
    public string? Condition { get; init; }
    /// <summary>Seeds the draws.</summary>
    public long Seed { get; init; }
    /// <summary>Use the full network per sample instead of the per-layer queues.</summary>
    public bool Naive { get; init; }
}

/// <summary>The drawn audio and how it was made.</summary>
/// <param name="Audio">The waveform.</param>
/// <param name="Seconds">Compute time of the generation.</param>
/// <param name="Source">The recording resynthesised (vocoders), cut to the drawn length; else null.</param>
/// <param name="SourceName">Its name (a path or an utterance id and transcript).</param>
public sealed record AudioSamplingResult(Waveform Audio, double Seconds, Waveform? Source, string? SourceName)
{
    /// <summary>Real-time factor: seconds of compute per second of audio.</summary>
    public double RealTimeFactor => Seconds / Audio.Seconds;
}

/// <summary>Draws audio from an <see cref="IAudioModel"/>: unconditional, or a vocoder resynthesising a recording's spectrogram.</summary>
public static class AudioSampling
{
    /// <summary>Draws one waveform.</summary>
    public static AudioSamplingResult Run(IAudioModel model, AudioSamplingOptions o)
    {
        if (o.Seconds <= 0 || !double.IsFinite(o.Seconds)) throw new ParameterException("seconds", $"must be > 0, got {o.Seconds}");
        long samples = Math.Max(1, (long)Math.Round(o.Seconds * model.SampleRate));
        Waveform? source = null;
        string? name = null;
        if (o.Condition is { } c)
        {
            if (!model.NeedsMel) throw new ParameterException("condition", "applies to a vocoder (conditioning=mel); this model is unconditional");
            (source, name) = ReadSource(c);
            if (source.SampleRate != model.SampleRate)
                throw new ParameterException("condition", $"{c} is {source.SampleRate} Hz, the model works at {model.SampleRate} Hz; convert it with 'sox IN.wav -r {model.SampleRate} -c 1 -b 16 OUT.wav'");
            samples = Math.Min(samples, source.Samples.Length);
            source = source.Slice(0, (int)samples);
        }
        else if (model.NeedsMel) throw new ParameterException("condition", "is needed: this model is a vocoder; give a WAV file or test:K (a held-out Allison utterance)");
        using var scope = torch.NewDisposeScope();
        Tensor? mel = null;
        if (source is not null)
        {
            using var x = source.ToTensor();
            mel = Spectrogram.LogMel(x, model.Mel);
        }
        var clock = Stopwatch.StartNew();
        var audio = model.Generate(new AudioGenerationOptions { Samples = samples, Mel = mel, Seed = o.Seed, Naive = o.Naive });
        double seconds = clock.Elapsed.TotalSeconds;
        return new AudioSamplingResult(Waveform.FromTensor(audio[0], model.SampleRate), seconds, source, name);
    }

    /// <summary>Log-spectral distance and mel-cepstral distortion (dB) of a resynthesis against its source.</summary>
    public static (double Lsd, double Mcd) Distances(AudioSamplingResult r, MelSettings mel)
    {
        if (r.Source is null) throw new InvalidOperationException("no source recording");
        using var a = r.Source.ToTensor();
        using var b = r.Audio.ToTensor();
        return (AudioDistance.LogSpectral(a, b, mel), AudioDistance.MelCepstral(a, b, mel));
    }

    /// <summary>Writes the waveform as WAV and, beside it, its log-mel spectrogram as PNG (same name, .png).</summary>
    public static string WriteWavAndSpectrogram(Waveform wave, string wavPath, MelSettings mel)
    {
        WavFile.Write(wavPath, wave);
        var png = Path.ChangeExtension(wavPath, ".png");
        using var x = wave.ToTensor();
        using var logMel = Spectrogram.LogMel(x, mel);
        SpectrogramImage.Save(png, logMel);
        return png;
    }

    static (Waveform, string) ReadSource(string spec)
    {
        if (spec.StartsWith("test:", StringComparison.OrdinalIgnoreCase))
        {
            var test = AllisonCorpus.Load().Test;
            if (!int.TryParse(spec[5..], out int k) || k < 0 || k >= test.Count)
                throw new ParameterException("condition", $"test:K needs K in [0, {test.Count - 1}] (the held-out Allison utterances), got {spec}");
            var u = test[k];
            return (AllisonCorpus.ReadAudio(u), $"{u.Id} \"{u.Transcript}\"");
        }
        return (WavFile.Read(spec), spec);
    }
}
