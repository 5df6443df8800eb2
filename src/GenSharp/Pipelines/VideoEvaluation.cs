using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>
/// Metrics of a video model on Moving Fashion-MNIST, against held-out clips made from the test images.
/// <list type="bullet">
/// <item><b>Prediction</b> (<see cref="Prediction"/>): the first k frames of N test clips are given, the model fills
/// in the rest; per-frame MSE (sum over the frame's pixels of squared errors, pixels in [0, 1]), per-frame SSIM and the
/// garment-centroid error, beside the copy-last-frame baseline scored the same way.</item>
/// <item><b>Generation</b> (<see cref="ScoreClips"/>): N clips drawn for classes asked in equal numbers. With a
/// <see cref="IVideoClassifier"/>: an FVD-style Fréchet distance in its penultimate features (not I3D-FVD: a small
/// 3D CNN trained on these clips, so values are comparable only with each other), accuracy of the asked class, and
/// how sure its motion head is. With the domain <see cref="IImageClassifier"/>: per-frame FD-cls on 28×28 garment
/// crops (<see cref="GarmentCrops"/>) and temporal consistency (<see cref="TemporalConsistency"/>) of the frame
/// classes. Every figure comes with the same figure of real clips (train clips against the test clips for the
/// distances), which is what a perfect model would get at this N.</item>
/// </list>
/// </summary>
public static class VideoEvaluation
{
    /// <summary>Real clips <paramref name="first"/> … first+n−1 of <paramref name="source"/>: (n, T, 1, S, S) float32 in [0, 1], classes and directions.</summary>
    public static (Tensor Clips, long[] Classes, long[] Directions) RealClips(MovingFashionMnist source, long first, int n)
    {
        var (u8, infos) = source.Clips(first, n);
        using (u8)
            return (u8.to(ScalarType.Float32) / 255, infos.Select(i => (long)i.Classes[0]).ToArray(), infos.Select(i => (long)i.Direction).ToArray());
    }

    /// <summary>
    /// Prediction metrics. <paramref name="predict"/>(clips with only the first <paramref name="known"/> frames meaningful,
    /// their classes, index of the first clip) returns whole clips (B, T, 1, S, S) in [0, 1]; it is called on batches of
    /// <paramref name="batchSize"/> of <paramref name="truth"/> (N, T, 1, S, S). Returns the metrics and the predicted clips.
    /// </summary>
    public static (Dictionary<string, double> Metrics, Tensor Predicted) Prediction(Func<Tensor, long[], int, Tensor> predict,
        Tensor truth, long[] classes, long[] directions, int known, int batchSize, IVideoClassifier? video, Action<string>? log = null)
    {
        int n = (int)truth.shape[0];
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        if (known < 1 || known >= truth.shape[1])
            throw new ParameterException("known_frames", $"must be in [1, {truth.shape[1] - 1}] for clips of {truth.shape[1]} frames, got {known}");
        var parts = new List<Tensor>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i += batchSize)
        {
            int len = Math.Min(batchSize, n - i);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            // Only the known frames go in; the rest are black, so nothing of the future can leak.
            var given = FramePrediction.Blank(truth.narrow(0, i, len), known);
            var p = predict(given, classes.Skip(i).Take(len).ToArray(), i);
            if (!p.shape.SequenceEqual(given.shape))
                throw new GenSharpException($"the model predicted ({string.Join(", ", p.shape)}) clips for ({string.Join(", ", given.shape)}) inputs");
            parts.Add(p.cpu().to(ScalarType.Float32).MoveToOuterDisposeScope());
            log?.Invoke($"predicted {i + len}/{n}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var predicted = torch.cat(parts, 0);
        foreach (var part in parts) part.Dispose();
        using var copy = FramePrediction.CopyLast(truth, known);
        using var blank = FramePrediction.Blank(truth, known);
        var model = FramePrediction.Score(predicted, truth, known);
        var baseline = FramePrediction.Score(copy, truth, known);
        var r = new Dictionary<string, double> { ["pred_n"] = n, ["pred_known_frames"] = known, ["pred_frames"] = truth.shape[1] - known };
        void Put(string prefix, PredictionScores s)
        {
            r[$"{prefix}_mse"] = s.Mse;
            r[$"{prefix}_mse_per_pixel"] = s.MsePerPixel;
            r[$"{prefix}_ssim"] = s.Ssim;
            r[$"{prefix}_centroid_px"] = s.CentroidError;
            for (int f = 0; f < s.MseByFrame.Length; f++)
            {
                r[$"{prefix}_mse_frame{known + f}"] = s.MseByFrame[f];
                r[$"{prefix}_ssim_frame{known + f}"] = s.SsimByFrame[f];
            }
        }
        Put("pred", model);
        Put("copy_last", baseline);
        Put("blank", FramePrediction.Score(blank, truth, known));
        if (video is not null)
        {
            // Does the continuation keep the garment and its motion? Heads of the video classifier on whole clips.
            var (pc, pd, _) = Classify(video, predicted, batchSize);
            var (cc, cd, _) = Classify(video, copy, batchSize);
            var (tc, td, _) = Classify(video, truth, batchSize);
            r["pred_class_accuracy"] = Accuracy(pc, classes);
            r["pred_motion_accuracy"] = Accuracy(pd, directions);
            r["copy_last_motion_accuracy"] = Accuracy(cd, directions);
            r["copy_last_class_accuracy"] = Accuracy(cc, classes);
            r["truth_class_accuracy"] = Accuracy(tc, classes);
            r["truth_motion_accuracy"] = Accuracy(td, directions);
            foreach (var t in new[] { pc, pd, cc, cd, tc, td }) t.Dispose();
        }
        r["pred_seconds"] = seconds;
        r["pred_seconds_per_clip"] = seconds / n;
        return (r, predicted);
    }

    /// <summary>
    /// Draws <paramref name="n"/> clips with <paramref name="draw"/>(asked classes, index of the first clip) → (B, T, 1, S, S)
    /// in [0, 1], asking the <paramref name="numClasses"/> classes in equal numbers (class-major), in batches. Returns
    /// the clips, the asked classes and the seconds taken.
    /// </summary>
    public static (Tensor Clips, long[] Asked, double Seconds) Draw(Func<long[], int, Tensor> draw, int n, int numClasses, int batchSize, Action<string>? log = null)
    {
        if (n < 2) throw new ParameterException("n", $"must be ≥ 2 clips, got {n}");
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        var asked = Enumerable.Range(0, n).Select(i => (long)i * numClasses / n).ToArray();
        var parts = new List<Tensor>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i += batchSize)
        {
            int len = Math.Min(batchSize, n - i);
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            parts.Add(draw(asked.Skip(i).Take(len).ToArray(), i).cpu().to(ScalarType.Float32).MoveToOuterDisposeScope());
            log?.Invoke($"generated {i + len}/{n}");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var clips = torch.cat(parts, 0);
        foreach (var part in parts) part.Dispose();
        return (clips, asked, seconds);
    }

    /// <summary>
    /// Scores clips (N, T, 1, S, S) in [0, 1] against real test clips (N', T, 1, S, S), with real train clips as the
    /// reference a perfect model would reach. <paramref name="asked"/>: the class asked of each clip (null when
    /// unknown). Either classifier may be null; its metrics are then left out.
    /// </summary>
    public static Dictionary<string, double> ScoreClips(Tensor clips, long[]? asked, Tensor realTest, Tensor realTrain,
        IVideoClassifier? video, IImageClassifier? frames, int batchSize, Action<string>? log = null)
    {
        foreach (var (t, what) in new[] { (clips, "clips"), (realTest, "test clips"), (realTrain, "train clips") })
            if (t.dim() != 5 || !t.shape.Skip(1).SequenceEqual(clips.shape.Skip(1)) || t.shape[0] < 2)
                throw new GenSharpException($"{what} must be at least 2 clips of ({string.Join(", ", clips.shape.Skip(1))}), got ({string.Join(", ", t.shape)})");
        var r = new Dictionary<string, double> { ["gen_n"] = clips.shape[0], ["real_n"] = realTest.shape[0] };
        r["gen_speed_px"] = MeanSpeed(clips);
        r["real_speed_px"] = MeanSpeed(realTest);
        if (video is not null)
        {
            log?.Invoke("video classifier features");
            var (gc, gd, gf) = Classify(video, clips, batchSize);
            var (_, rd, rf) = Classify(video, realTest, batchSize);
            var (_, _, tf) = Classify(video, realTrain, batchSize);
            r["fvd_cls"] = FrechetDistance.Compute(gf, rf);
            r["fvd_cls_train_vs_test"] = FrechetDistance.Compute(tf, rf);
            if (asked is not null) r["class_accuracy"] = Accuracy(gc, asked);
            r["motion_confident"] = Confident(gd);
            r["real_motion_confident"] = Confident(rd);
            foreach (var t in new[] { gc, gd, gf, rd, rf, tf }) t.Dispose();
        }
        if (frames is not null)
        {
            log?.Invoke("frame classifier features");
            var (gl, gf) = FrameFeatures(frames, clips, batchSize);
            var (rl, rf) = FrameFeatures(frames, realTest, batchSize);
            var (_, tf) = FrameFeatures(frames, realTrain, batchSize);
            r["fd_cls_frames"] = FrechetDistance.Compute(gf, rf);
            r["fd_cls_frames_train_vs_test"] = FrechetDistance.Compute(tf, rf);
            long t = clips.shape[1];
            using var gLabels = gl.argmax(1).reshape(clips.shape[0], t);
            using var rLabels = rl.argmax(1).reshape(realTest.shape[0], t);
            r["consistency"] = TemporalConsistency.Agreement(gLabels);
            r["consistency_all_frames"] = TemporalConsistency.AllAgree(gLabels);
            r["real_consistency"] = TemporalConsistency.Agreement(rLabels);
            r["real_consistency_all_frames"] = TemporalConsistency.AllAgree(rLabels);
            if (asked is not null)
            {
                using var mode = gLabels.mode(1).values;
                r["frame_class_accuracy"] = mode.eq(torch.tensor(asked)).to(ScalarType.Float64).mean().item<double>();
            }
            foreach (var x in new[] { gl, gf, rl, rf, tf }) x.Dispose();
        }
        return r;
    }

    /// <summary>Test accuracy of a video classifier's two heads on real clips.</summary>
    public static Dictionary<string, double> ClassifierAccuracy(IVideoClassifier video, Tensor clips, long[] classes, long[] directions, int batchSize)
    {
        var (c, d, _) = Classify(video, clips, batchSize);
        using (c) using (d)
            return new Dictionary<string, double>
            {
                ["n"] = clips.shape[0],
                ["class_accuracy"] = Accuracy(c, classes),
                ["direction_accuracy"] = Accuracy(d, directions),
            };
    }

    /// <summary>Mean distance (64×64 canvas pixels) the intensity centroid moves from one frame to the next.</summary>
    public static double MeanSpeed(Tensor clips)
    {
        using var scope = torch.NewDisposeScope();
        long n = clips.shape[0], t = clips.shape[1], s = clips.shape[3];
        var c = GarmentCrops.Centroids(clips.reshape(n * t, 1, s, s)).reshape(n, t, 2);     // (N, T, 2)
        var step = c.narrow(1, 1, t - 1) - c.narrow(1, 0, t - 1);                            // (N, T−1, 2)
        return step.square().sum(2).sqrt().mean().item<double>();
    }

    /// <summary>Class logits, direction logits and features of clips, float64 on the CPU, in batches.</summary>
    static (Tensor Classes, Tensor Directions, Tensor Features) Classify(IVideoClassifier video, Tensor clips, int batchSize)
    {
        var c = new List<Tensor>();
        var d = new List<Tensor>();
        var f = new List<Tensor>();
        for (long i = 0; i < clips.shape[0]; i += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var (a, b, e) = video.Classify(clips.narrow(0, i, Math.Min(batchSize, clips.shape[0] - i)));
            c.Add(a.cpu().to(ScalarType.Float64).MoveToOuterDisposeScope());
            d.Add(b.cpu().to(ScalarType.Float64).MoveToOuterDisposeScope());
            f.Add(e.cpu().to(ScalarType.Float64).MoveToOuterDisposeScope());
        }
        var result = (torch.cat(c, 0), torch.cat(d, 0), torch.cat(f, 0));
        foreach (var t in c.Concat(d).Concat(f)) t.Dispose();
        return result;
    }

    /// <summary>Domain-classifier logits and features of every frame's 28×28 garment crop: (N·T, K), (N·T, D).</summary>
    static (Tensor Logits, Tensor Features) FrameFeatures(IImageClassifier classifier, Tensor clips, int batchSize)
    {
        if (classifier.ImageChannels != 1 || classifier.ImageSize != GarmentCrops.Size)
            throw new GenSharpException($"the frame classifier must take 1×{GarmentCrops.Size}×{GarmentCrops.Size} images (a Fashion-MNIST 'classifier' checkpoint), got {classifier.ImageChannels}×{classifier.ImageSize}×{classifier.ImageSize}");
        using var scope = torch.NewDisposeScope();
        long n = clips.shape[0], t = clips.shape[1], s = clips.shape[3];
        var crops = GarmentCrops.Crop(clips.reshape(n * t, 1, s, s));                         // (N·T, 1, 28, 28)
        // Quantised to 8 bits like every image the classifier scores elsewhere.
        var u8 = Media.ImageGrid.ToUint8(crops);
        var (l, f) = SampleQuality.Features(classifier, u8, batchSize * (int)t);
        return (l.MoveToOuterDisposeScope(), f.MoveToOuterDisposeScope());
    }

    static double Accuracy(Tensor logits, long[] truth)
    {
        using var y = torch.tensor(truth);
        using var hit = logits.argmax(1).eq(y).to(ScalarType.Float64);
        return hit.mean().item<double>();
    }

    /// <summary>Share of clips whose most likely direction has probability ≥ 0.9.</summary>
    static double Confident(Tensor directionLogits)
    {
        using var scope = torch.NewDisposeScope();
        return directionLogits.softmax(1).max(1).values.ge(0.9).to(ScalarType.Float64).mean().item<double>();
    }
}
