using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Pipelines;

namespace GenSharp.Cli.Commands;

/// <summary>
/// <c>gensharp eval CKPT</c> for wavenet checkpoints: the exact test NLL (bits per sample) of the held-out Allison
/// utterances and, for a vocoder, their resynthesis from their own log-mel frames (log-spectral distance, mel-cepstral
/// distortion, real-time factor).
/// </summary>
internal static class AudioEvalCommand
{
    public static int Run(EvalCommandSettings s, string path)
    {
        foreach (var (flag, given) in new[] { ("samples", s.Samples is not null), ("classifier", s.Classifier is not null), ("clip", s.Clip is not null),
                                             ("inpaint-mask", s.InpaintMask is not null), ("quality-only", s.QualityOnly) })
            if (given) throw new GenSharpException($"--{flag} does not apply to audio checkpoints (they take --data, --limit, -n, --batch-size, --seed)");
        if (s.Limit is < 1) throw new GenSharpException($"--limit must be ≥ 1 held-out utterances, got {s.Limit}");
        if (s.N is < 0) throw new GenSharpException($"-n (utterances to resynthesise) must be ≥ 0, got {s.N}");
        if (s.BatchSize is < 1 or > 1024) throw new GenSharpException($"--batch-size (utterances drawn at once) must be in [1, 1024], got {s.BatchSize}");
        using var m = CliInputs.Load(path, s);
        var model = (IAudioModel)m.Model;
        var corpus = AllisonCorpus.Load(s.Data);
        var test = corpus.Test.Take(s.Limit ?? int.MaxValue).ToList();
        Console.WriteLine($"{corpus.Source}; scoring {test.Count} held-out utterances");
        var recordings = test.Select(AllisonCorpus.ReadAudio).ToList();
        var r = AudioEvaluation.Run(model, recordings, s.N ?? int.MaxValue, s.BatchSize ?? 24, s.Seed ?? 0, Console.WriteLine);
        var json = new JsonObject
        {
            ["family"] = m.Family.Name, ["checkpoint"] = m.Path, ["step"] = m.Step,
            ["test_bits_per_sample"] = r.BitsPerSample, ["test_samples"] = r.Samples, ["test_utterances"] = r.Recordings,
        };
        if (r.Resynthesized > 0)
        {
            Console.WriteLine($"resynthesis of {r.Resynthesized} utterances: log-spectral distance {r.LogSpectralDistance:F2} dB, " +
                              $"mel-cepstral distortion {r.MelCepstralDistortion:F2} dB, real-time factor {r.RealTimeFactor:F2}");
            json["resynthesized"] = r.Resynthesized;
            json["lsd_db"] = r.LogSpectralDistance;
            json["mcd_db"] = r.MelCepstralDistortion;
            json["real_time_factor"] = r.RealTimeFactor;
        }
        Console.WriteLine(json.ToJsonString());
        return 0;
    }
}
