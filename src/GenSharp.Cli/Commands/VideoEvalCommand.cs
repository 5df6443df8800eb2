using System.Globalization;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;
using static TorchSharp.torch;

namespace GenSharp.Cli.Commands;

/// <summary>
/// <c>gensharp eval CKPT</c> for video checkpoints: a <c>videoclassifier</c>'s test accuracy, or a <c>videodiffusion</c>
/// model's prediction metrics (vs copy-last) and generation metrics (with --video-classifier and/or --classifier).
/// </summary>
internal static class VideoEvalCommand
{
    public static int Run(EvalCommandSettings s, string path)
    {
        foreach (var (flag, given) in new[]
                 {
                     ("limit", s.Limit is not null), ("samples", s.Samples is not null), ("inpaint-mask", s.InpaintMask is not null),
                     ("ais-chains", s.AisChains is not null), ("ais-betas", s.AisBetas is not null), ("ais-runs", s.AisRuns is not null),
                     ("context", s.Context is not null), ("quality-only", s.QualityOnly), ("no-memorisation", s.NoMemorisation),
                     ("init", s.Init is not null), ("prompt", s.Prompt is not null), ("negative-prompt", s.NegativePrompt is not null),
                     ("strength", s.Strength is not null), ("resample", s.Resample is not null), ("jump", s.Jump is not null),
                 })
            if (given) throw new GenSharpException($"--{flag} does not apply to video checkpoints");
        if (s.N is < 2 or > 100_000) throw new GenSharpException($"-n must be in [2, 100000] clips, got {s.N}");
        if (s.BatchSize is < 1) throw new GenSharpException($"--batch-size must be ≥ 1, got {s.BatchSize}");
        using var m = CliInputs.Load(path, s);
        var family = (IVideoFamily)m.Family;
        var geometry = family.Data(m.Model.Config);
        long seed = s.Seed ?? 0;
        var json = new JsonObject { ["family"] = m.Family.Name, ["checkpoint"] = m.Path, ["step"] = m.Step, ["seed"] = seed };
        Action<string>? log = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"eval: {line}");

        if (m.Model is IVideoClassifier own)
        {
            foreach (var (flag, given) in new[] { ("video-classifier", s.VideoClassifier is not null), ("classifier", s.Classifier is not null),
                                                  ("known-frames", s.KnownFrames is not null),
                                                  ("carry-known-frames", s.CarryKnownFrames), ("gif-dir", s.GifDir is not null),
                                                  ("scheduler", s.Scheduler is not null), ("steps", s.Steps is not null),
                                                  ("eta", s.Eta is not null), ("guidance-scale", s.GuidanceScale is not null) })
                if (given) throw new GenSharpException($"--{flag} does not apply to a videoclassifier checkpoint (it is scored on test clips)");
            int count = s.N ?? 1000;
            var test = MovingFashionMnist.Load(s.Data, train: false, geometry, 1, seed);
            var (clips, classes, directions) = VideoEvaluation.RealClips(test, 0, count);
            using (clips)
            {
                var acc = VideoEvaluation.ClassifierAccuracy(own, clips, classes, directions, s.BatchSize ?? 100);
                Console.WriteLine($"videoclassifier: {count} test clips of {test.Source} (seed {seed}), {geometry.Frames} frames {geometry.FrameSize}×{geometry.FrameSize}: " +
                    $"class accuracy {acc["class_accuracy"] * 100:F1}% · motion-direction accuracy {acc["direction_accuracy"] * 100:F1}% (4 quadrants of the first garment's initial velocity)");
                json["data"] = test.Source;
                foreach (var (k, v) in acc) json[k] = Round6(v);
            }
            return Finish(s, json);
        }

        var video = m.Model as IVideoModel ?? throw new GenSharpException($"{m.Family.Name} checkpoints have no video metrics");
        using var vc = s.VideoClassifier is null ? null : CliInputs.Load(s.VideoClassifier, s);
        var videoClassifier = vc is null ? null : vc.Model as IVideoClassifier
            ?? throw new GenSharpException($"--video-classifier {s.VideoClassifier} holds a {vc.Family.Name} checkpoint; pass one trained with 'gensharp train videoclassifier'");
        if (videoClassifier is not null && (videoClassifier.Frames != video.Frames || videoClassifier.FrameSize != video.FrameSize))
            throw new GenSharpException($"--video-classifier takes clips of {videoClassifier.Frames} frames {videoClassifier.FrameSize}×{videoClassifier.FrameSize}, the model makes {video.Frames} frames {video.FrameSize}×{video.FrameSize}; train one with --set frames={video.Frames} --set frame_size={video.FrameSize}");
        using var fc = s.Classifier is null ? null : CliInputs.Load(s.Classifier, s);
        var frameClassifier = fc is null ? null : fc.Model as IImageClassifier
            ?? throw new GenSharpException($"--classifier {s.Classifier} holds a {fc.Family.Name} checkpoint; pass one trained with 'gensharp train classifier'");
        int known = s.KnownFrames ?? video.Frames / 2;
        if (known < 1 || known >= video.Frames)
            throw new GenSharpException($"--known-frames must be in [1, {video.Frames - 1}] for clips of {video.Frames} frames, got {known}");
        int n = s.N ?? 100, batch = s.BatchSize ?? 16;
        var sampler = new VideoGenerationOptions { Scheduler = s.Scheduler, Steps = s.Steps, Eta = s.Eta ?? 0, GuidanceScale = s.GuidanceScale, CarryKnownFrames = s.CarryKnownFrames };
        string described = video.DescribeSampler(sampler);   // validates the sampler flags before any work

        var test2 = MovingFashionMnist.Load(s.Data, train: false, geometry, 1, seed);
        var train2 = MovingFashionMnist.Load(s.Data, train: true, geometry, 1, seed);
        var (truth, classes2, directions2) = VideoEvaluation.RealClips(test2, 0, n);
        var (trainClips, _, _) = VideoEvaluation.RealClips(train2, 0, n);
        using var _t = truth;
        using var _r = trainClips;
        json["data"] = test2.Source;
        json["sampler"] = described;
        json["carry_known_frames"] = s.CarryKnownFrames;
        json["frames"] = video.Frames;
        json["frame_size"] = video.FrameSize;
        Console.WriteLine($"video: {n} test clips of {test2.Source} (seed {seed}), {video.Frames} frames {video.FrameSize}×{video.FrameSize}; sampler {described}");

        var flags = Enumerable.Range(0, video.Frames).Select(f => f < known).ToArray();
        var (pred, predicted) = VideoEvaluation.Prediction(
            (given, labels, i) => video.Generate(sampler with { Count = labels.Length, Labels = labels, Known = given, KnownFrames = flags, Seed = seed + i }),
            truth, classes2, directions2, known, batch, videoClassifier, log);
        using var _p = predicted;
        Console.WriteLine($"prediction: first {known} frames given (the clip's class asked), {video.Frames - known} predicted; MSE = per-frame sum over the " +
            $"{video.FrameSize}×{video.FrameSize} pixels of squared error (pixels in [0,1]); SSIM per frame (Gaussian window 11, σ 1.5); centroid = garment position error in 64×64 canvas px");
        foreach (var (name, key) in new[] { ("model    ", "pred"), ("copy-last", "copy_last"), ("blank    ", "blank") })
            Console.WriteLine($"  {name} MSE {pred[$"{key}_mse"]:F2} ({pred[$"{key}_mse_per_pixel"]:F5}/pixel) · SSIM {pred[$"{key}_ssim"]:F4} · centroid {pred[$"{key}_centroid_px"]:F2} px" +
                (pred.TryGetValue($"{key}_motion_accuracy", out var ma) ? $" · motion accuracy {ma * 100:F1}%" : "") +
                (key == "pred" ? $" · {pred["pred_seconds_per_clip"]:F2} s/clip" : ""));
        foreach (var (k, v) in pred) json[k] = Round6(v);

        var (generated, asked, seconds) = VideoEvaluation.Draw(
            (labels, i) => video.Generate(sampler with { Count = labels.Length, Labels = labels, Seed = seed + 1_000_000 + i }),
            n, video.NumClasses, batch, log);
        using var _g = generated;
        var gen = VideoEvaluation.ScoreClips(generated, asked, truth, trainClips, videoClassifier, frameClassifier, batch, log);
        gen["gen_seconds_per_clip"] = seconds / n;
        Console.WriteLine($"generation: {n} clips, the {video.NumClasses} classes asked equally, {seconds / n:F2} s/clip; garment speed {gen["gen_speed_px"]:F2} px/frame (real {gen["real_speed_px"]:F2})");
        if (gen.TryGetValue("fvd_cls", out var fvd))
            Console.WriteLine($"  FVD-style {fvd:G4} (Fréchet distance in the {videoClassifier!.FeatureDim}-d features of the video classifier, not I3D-FVD; train vs test clips at this N: {gen["fvd_cls_train_vs_test"]:G4}) · " +
                $"class accuracy {gen["class_accuracy"] * 100:F1}% · motion-confident {gen["motion_confident"] * 100:F1}% (real {gen["real_motion_confident"] * 100:F1}%)");
        else Console.WriteLine("  FVD-style distance, class and motion accuracy need --video-classifier VCLS_CKPT (train one with 'gensharp train videoclassifier')");
        if (gen.TryGetValue("fd_cls_frames", out var fd))
            Console.WriteLine($"  FD-cls per frame {fd:G4} (28×28 garment crops; train vs test at this N: {gen["fd_cls_frames_train_vs_test"]:G4}) · " +
                $"temporal consistency {gen["consistency"]:F3} (real {gen["real_consistency"]:F3}) · all frames one class {gen["consistency_all_frames"] * 100:F1}% (real {gen["real_consistency_all_frames"] * 100:F1}%)");
        else Console.WriteLine("  per-frame FD-cls and temporal consistency need --classifier CLS_CKPT (train one with 'gensharp train classifier')");
        foreach (var (k, v) in gen) json[k] = Round6(v);
        if (vc is not null) json["video_classifier"] = vc.Path;
        if (fc is not null) json["classifier"] = fc.Path;

        if (s.GifDir is { } dir)
        {
            var perClass = Enumerable.Range(0, video.NumClasses).Select(c => Array.IndexOf(asked, (long)c)).Where(i => i >= 0).Select(i => generated[i]).ToList();
            VideoFiles.Save(Path.Combine(dir, "generated.gif"), perClass, scale: 64 / video.FrameSize);
            using var copy = Evaluation.FramePrediction.CopyLast(truth, known);
            var rows = new List<Tensor>();
            for (int i = 0; i < Math.Min(2, n); i++) rows.AddRange(new[] { truth[i], predicted[i], copy[i] });
            VideoFiles.Save(Path.Combine(dir, "prediction.gif"), rows, scale: 64 / video.FrameSize);
            Console.WriteLine($"wrote {Path.Combine(dir, "generated.gif")} and {Path.Combine(dir, "prediction.gif")}");
        }
        return Finish(s, json);
    }

    static int Finish(EvalCommandSettings s, JsonObject json)
    {
        var text = json.ToJsonString();
        Console.WriteLine(text);
        if (s.Json is { } file)
        {
            ImageFiles.EnsureParent(file);
            File.WriteAllText(file, text + "\n");
        }
        return 0;
    }

    static double Round6(double v) => double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
