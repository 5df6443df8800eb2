using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Media;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>
/// Sample quality of any image generator, measured in the domain classifier's feature space against
/// held-out test images: FD-cls, KID, precision/recall, the class distribution of the samples (and, for
/// conditional models, agreement between asked and classified class), memorisation distances, and the
/// sampler's speed; and the same feature space scores inpaintings (<see cref="EvaluateInpainting"/>). Works on a sampler delegate, so the caller decides how samples are drawn (e.g. a
/// diffusion scheduler and its step count), or on pre-generated uint8 samples.
/// </summary>
public static class SampleQuality
{
    /// <summary>
    /// Draws N samples with <paramref name="sampler"/> (after seeding torch's RNG with the seed) and scores
    /// them. For a conditional model (<paramref name="conditionalClasses"/> &gt; 0) it asks for the classes in
    /// equal numbers (class-major; equal exactly when N is a multiple of the class count) and reports
    /// the agreement between asked and classified class.
    /// </summary>
    /// <param name="sampler">(n, labels or null) → float images in [0,1], (n, C, H, W) on the CPU.</param>
    /// <param name="conditionalClasses">Classes the sampler takes labels for; 0 when unconditional.</param>
    /// <param name="classifier">The domain classifier (its features define the metric space).</param>
    /// <param name="test">Held-out images: the reference distribution.</param>
    /// <param name="train">Training images: the memorisation reference.</param>
    /// <param name="options">N, batch size, seed, metric settings.</param>
    /// <param name="log">Receives progress lines; may be null.</param>
    /// <returns>The metrics by name, in a fixed order.</returns>
    public static Dictionary<string, double> Evaluate(Func<int, Tensor?, Tensor> sampler, int conditionalClasses,
        IImageClassifier classifier, ImageDataset test, ImageDataset train, SampleQualityOptions options, Action<string>? log = null)
    {
        options.Validate();
        CheckData(classifier, test, train, options.N);
        int n = options.N;
        Tensor? asked = null;
        if (conditionalClasses > 0)
            asked = (torch.arange(n, dtype: ScalarType.Int64) * conditionalClasses).div(n, rounding_mode: RoundingMode.floor); // (N) class-major, balanced
        try
        {
            torch.manual_seed(options.Seed);
            using var samples = Generate(n, options.BatchSize, (i, len) =>
            {
                var x = sampler(len, asked?.narrow(0, i, len));
                var cfg = classifier;
                if (x.dim() != 4 || x.shape[0] != len || x.shape[1] != cfg.ImageChannels || x.shape[2] != cfg.ImageSize || x.shape[3] != cfg.ImageSize)
                    throw new GenSharpException($"the sampler gave ({string.Join("×", x.shape)}) images, the classifier takes {len}×{cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize}");
                return x.cpu();
            }, "sampled", log, out double seconds);   // (N, C, H, W) uint8
            var report = new Dictionary<string, double>();
            var metrics = Score(samples, asked, classifier, test, train, options, log);
            report["n"] = n;
            report["sample_seconds"] = seconds;
            report["sample_images_per_s"] = n / Math.Max(1e-9, seconds);
            foreach (var (k, v) in metrics) report[k] = v;
            return report;
        }
        finally
        {
            asked?.Dispose();
        }
    }

    /// <summary>
    /// <paramref name="n"/> images drawn in batches of <paramref name="batchSize"/> by <paramref name="draw"/>(first index,
    /// count) → float images in [0,1] (count, C, H, W), without gradients, as uint8 (N, C, H, W). Quantised to 8 bits exactly
    /// as saved samples are, so a sampler and its saved samples give the same numbers. Logs "<paramref name="verb"/> k/n".
    /// </summary>
    internal static Tensor Generate(int n, int batchSize, Func<int, int, Tensor> draw, string verb, Action<string>? log, out double seconds)
    {
        var parts = new List<Tensor>();
        var clock = Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < n; i += batchSize)
            {
                int len = Math.Min(batchSize, n - i);
                using var scope = torch.NewDisposeScope();
                using var noGrad = torch.no_grad();
                parts.Add(ImageGrid.ToUint8(draw(i, len)).MoveToOuterDisposeScope());
                log?.Invoke($"{verb} {i + len}/{n}");
            }
            seconds = clock.Elapsed.TotalSeconds;
            return torch.cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>
    /// How well a model inpaints: <paramref name="n"/> random test images (seeded) get their unknown region (where
    /// <paramref name="knownMask"/> is false) generated by <paramref name="inpaint"/> with no class given, and the domain
    /// classifier scores the results against the originals. Reports <c>inpaint_fd_cls</c> (Fréchet distance between
    /// the features of the inpainted and the original images), <c>inpaint_accuracy</c> (classifier on the inpaintings
    /// vs the true labels) with its ceiling <c>original_accuracy</c> and its floor <c>masked_accuracy</c> (unknown
    /// pixels mid-grey), <c>inpaint_rmse</c> over the unknown pixels (in [0,1]; many completions are right, so lower is
    /// not always better), and images per second.
    /// </summary>
    public static Dictionary<string, double> EvaluateInpainting(IGenerativeModel model, BatchInpainter inpaint, IImageClassifier classifier,
        ImageDataset test, Tensor knownMask, int n, int batchSize, long seed, Action<string>? log = null)
    {
        if (n < 2 || n > test.Count) throw new ParameterException("n", $"must be in [2, {test.Count}] test images to inpaint, got {n}");
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        var cfg = ImageFamilyConfig.Of(model);
        int size = cfg.ImageSize;
        if (test.Channels != cfg.ImageChannels || test.Height != size || classifier.ImageSize != size)
            throw new GenSharpException($"the model, classifier and test images must share one image size; got {size}, {classifier.ImageSize}, {test.Height}");
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator((ulong)seed);
        var index = torch.randperm(test.Count, generator: gen).narrow(0, 0, n);
        var images = test.Images.index_select(0, index);                                     // (N, C, H, W) uint8
        var labels = test.Labels.index_select(0, index);                                     // (N)
        var mask = knownMask.to(ScalarType.Bool).expand(n, 1, size, size);
        var inpainted = Generate(n, batchSize, (i, len) => inpaint(images.narrow(0, i, len), mask.narrow(0, i, len), gen),
            "inpainted", log, out double seconds);                                         // (N, C, H, W) uint8
        var original01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
        var masked = ImageGrid.ToUint8(torch.where(mask.expand_as(original01), original01, torch.full_like(original01, 0.5)));
        var (li, fi) = Features(classifier, inpainted, batchSize);
        var (lo, fo) = Features(classifier, images, batchSize);
        var (lm, _) = Features(classifier, masked, batchSize);
        double Accuracy(Tensor logits) => logits.argmax(1).eq(labels).to(ScalarType.Float64).mean().item<double>();
        var unknown = mask.logical_not().expand_as(original01);
        var diff = ImageTransforms.ToFloat(inpainted, PixelScale.ZeroOne) - original01;
        return new Dictionary<string, double>
        {
            ["n"] = n,
            ["known_fraction"] = mask.to(ScalarType.Float64).mean().item<double>(),
            ["inpaint_fd_cls"] = FrechetDistance.Compute(fi, fo),
            ["inpaint_accuracy"] = Accuracy(li),
            ["original_accuracy"] = Accuracy(lo),
            ["masked_accuracy"] = Accuracy(lm),
            ["inpaint_rmse"] = Math.Sqrt(diff.masked_select(unknown).square().mean().item<float>()),
            ["inpaint_seconds"] = seconds,
            ["inpaint_images_per_s"] = n / Math.Max(1e-9, seconds),
        };
    }

    /// <summary>
    /// Scores pre-generated samples: uint8 (N, C, H, W), e.g. a .npy written by <c>gensharp sample</c>.
    /// Uses the first <see cref="SampleQualityOptions.N"/> of them. <paramref name="asked"/> (≥ N) gives the
    /// requested class of each sample when known (then class agreement is reported), else null.
    /// </summary>
    public static Dictionary<string, double> EvaluateSamples(Tensor samplesU8, Tensor? asked, IImageClassifier classifier,
        ImageDataset test, ImageDataset train, SampleQualityOptions options, Action<string>? log = null)
    {
        options.Validate();
        if (samplesU8.dtype != ScalarType.Byte || samplesU8.dim() != 4)
            throw new GenSharpException($"samples must be a uint8 N×C×H×W array, got {samplesU8.dtype} ({string.Join("×", samplesU8.shape)})");
        if (samplesU8.shape[0] < options.N)
            throw new ParameterException("n", $"is {options.N} but the samples hold {samplesU8.shape[0]} images; lower it to {samplesU8.shape[0]} or pass more samples");
        CheckData(classifier, test, train, options.N);
        var cfg = classifier;
        if (samplesU8.shape[1] != cfg.ImageChannels || samplesU8.shape[2] != cfg.ImageSize || samplesU8.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"the samples are {string.Join("×", samplesU8.shape.Skip(1))} images, the classifier takes {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize}");
        using var first = samplesU8.narrow(0, 0, options.N);
        using var askedN = asked?.narrow(0, 0, options.N);
        var report = new Dictionary<string, double> { ["n"] = options.N };
        foreach (var (k, v) in Score(first, askedN, classifier, test, train, options, log)) report[k] = v;
        return report;
    }

    static Dictionary<string, double> Score(Tensor samplesU8, Tensor? asked, IImageClassifier classifier,
        ImageDataset test, ImageDataset train, SampleQualityOptions o, Action<string>? log)
    {
        int n = o.N;
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator((ulong)o.Seed);
        // N random held-out images as the reference, and N random training images for the FD floor.
        var testIdx = torch.randperm(test.Count, generator: gen).narrow(0, 0, n);
        var trainIdx = torch.randperm(train.Count, generator: gen).narrow(0, 0, n);
        var testU8 = test.Images.index_select(0, testIdx);      // (N, C, H, W)
        var trainU8 = train.Images.index_select(0, trainIdx);   // (N, C, H, W)

        log?.Invoke("classifier features");
        var (sampleLogits, sampleFeats) = Features(classifier, samplesU8, o.BatchSize); // (N, K), (N, D)
        var (_, testFeats) = Features(classifier, testU8, o.BatchSize);
        var (_, trainFeats) = Features(classifier, trainU8, o.BatchSize);

        var r = new Dictionary<string, double>();
        r["fd_cls"] = FrechetDistance.Compute(sampleFeats, testFeats);
        // What a perfect model would get at this N: training images against the same test images.
        r["fd_cls_train_vs_test"] = FrechetDistance.Compute(trainFeats, testFeats);

        log?.Invoke("KID");
        var kid = Kid.Compute(sampleFeats, testFeats, o.KidSubsets, o.KidSubsetSize ?? Math.Min(1000, n / 2), o.Seed);
        r["kid"] = kid.Mean;
        r["kid_stderr"] = kid.StandardError;
        r["kid_std"] = kid.Std;
        r["kid_subsets"] = kid.Subsets;
        r["kid_subset_size"] = kid.SubsetSize;

        log?.Invoke("precision/recall");
        var (precision, recall) = PrecisionRecall.Compute(testFeats, sampleFeats, o.PrecisionRecallK);
        r["precision"] = precision;
        r["recall"] = recall;
        r["pr_k"] = o.PrecisionRecallK;

        var stats = ClassStats.Compute(sampleLogits.argmax(1), classifier.NumClasses, asked);
        r["class_entropy"] = stats.Entropy;
        r["class_entropy_normalized"] = stats.NormalizedEntropy;
        if (stats.Agreement is { } agreement) r["class_agreement"] = agreement;
        for (int k = 0; k < stats.Shares.Count; k++) r[$"class_share_{k}"] = stats.Shares[k];

        if (o.Memorisation)
        {
            log?.Invoke($"memorisation: nearest of {train.Count} training images for {n} samples and {n} test images");
            var samples01 = ImageTransforms.ToFloat(samplesU8, PixelScale.ZeroOne);
            var test01 = ImageTransforms.ToFloat(testU8, PixelScale.ZeroOne);
            var sd = Memorisation.NearestTrainingDistances(samples01, train.Images);
            var td = Memorisation.NearestTrainingDistances(test01, train.Images);
            var mem = Memorisation.Compare(sd, td);
            r["mem_sample_min"] = mem.Samples.Min;
            r["mem_sample_p01"] = mem.Samples.P01;
            r["mem_sample_p05"] = mem.Samples.P05;
            r["mem_sample_median"] = mem.Samples.Median;
            r["mem_test_min"] = mem.Test.Min;
            r["mem_test_p01"] = mem.Test.P01;
            r["mem_test_p05"] = mem.Test.P05;
            r["mem_test_median"] = mem.Test.Median;
            r["mem_flagged"] = mem.Flagged;
            r["mem_flagged_fraction"] = mem.FlaggedFraction;
        }
        return r;
    }

    /// <summary>Classifier logits (N, K) and features (N, D), float64 on the CPU, for uint8 images, in batches.</summary>
    internal static (Tensor Logits, Tensor Features) Features(IImageClassifier classifier, Tensor imagesU8, int batchSize)
    {
        var logits = new List<Tensor>();
        var feats = new List<Tensor>();
        for (long i = 0; i < imagesU8.shape[0]; i += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var x = ImageTransforms.ToFloat(imagesU8.narrow(0, i, Math.Min(batchSize, imagesU8.shape[0] - i)), PixelScale.ZeroOne);
            var (l, f) = classifier.LogitsAndFeatures(x);
            logits.Add(l.cpu().to(ScalarType.Float64).MoveToOuterDisposeScope());
            feats.Add(f.cpu().to(ScalarType.Float64).MoveToOuterDisposeScope());
        }
        return (torch.cat(logits, 0), torch.cat(feats, 0));
    }

    static void CheckData(IImageClassifier classifier, ImageDataset test, ImageDataset train, int n)
    {
        var cfg = classifier;
        foreach (var (d, what) in new[] { (test, "test"), (train, "training") })
        {
            if (d.Channels != cfg.ImageChannels || d.Height != cfg.ImageSize || d.Width != cfg.ImageSize)
                throw new GenSharpException($"the {what} images ({d.Source}) are {d.Channels}×{d.Height}×{d.Width} but the classifier takes {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize}");
            if (d.Count < n)
                throw new ParameterException("n", $"is {n} but the {what} split of {d.Source} holds only {d.Count} images; lower it");
        }
    }
}
