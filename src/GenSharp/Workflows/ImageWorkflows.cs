using System.Globalization;
using System.Text;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Models.Classifier;
using GenSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Workflows;

/// <summary>What the CLI's image commands do with a loaded model: sample, eval, score, compress, denoise.</summary>
public static class ImageWorkflows
{
    /// <summary>Writes images in [0,1] (N,C,H,W) as an N×C×H×W uint8 .npy array, or otherwise as a PNG grid.</summary>
    public static void SaveImages(Tensor images, string outPath, int? columns = null)
    {
        EnsureParent(outPath);
        if (outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            using var bytes = ImageGrid.ToUint8(images);
            Npy.Save(outPath, bytes);
        }
        else ImageGrid.SavePng(images, outPath, columns, padding: 2, scale: 2);
    }

    /// <summary>Test-set metrics: likelihood (mean per image, nats and bits/dim), or a classifier's accuracy and loss.</summary>
    public static Dictionary<string, double> Eval(IGenerativeModel model, ImageDataset data, int? limit, EvalSettings settings,
        Action<int, int>? progress = null)
    {
        if (model is IImageClassifier classifier)
        {
            if (limit is { } l && l < data.Count) { using var part = data.Take(l); return classifier.Evaluate(part, progress: progress); }
            return classifier.Evaluate(data, progress: progress);
        }
        if (model is not ILikelihoodModel lm)
            throw new GenSharpException($"{model.Family} gives no likelihood; eval applies to likelihood families such as vae, or pass --classifier CLS_CKPT for sample-quality metrics");
        if (settings.ImportanceSamples < 1) throw new GenSharpException($"--k must be ≥ 1, got {settings.ImportanceSamples}");
        return LikelihoodReport.Evaluate(lm, data, model.Device, settings, limit, batchSize: Math.Max(1, 10_000 / settings.ImportanceSamples), progress);
    }

    /// <summary>Per-item anomaly scores (negative log-likelihood bound, nats); writes index,label,score CSV.</summary>
    public static double[] Score(IGenerativeModel model, ImageDataset data, string csvPath, long seed)
    {
        if (model is not ILikelihoodModel lm)
            throw new GenSharpException($"{model.Family} gives no likelihood to score with; use a likelihood family such as vae");
        torch.manual_seed(seed);
        var scores = new List<double>(data.Count);
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var batchLabels = batch.Labels;
            scores.AddRange(lm.NegativeLogLikelihood(images.to(model.Device)).cpu().to(ScalarType.Float64).data<double>().ToArray());
        }
        var labels = data.Labels.data<long>().ToArray();
        var sb = new StringBuilder("index,label,score\n");
        for (int i = 0; i < scores.Count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i},{labels[i]},{scores[i]:R}\n");
        EnsureParent(csvPath);
        AtomicFile.WriteAllText(csvPath, sb.ToString());
        return scores.ToArray();
    }

    /// <summary>AUROC of scores for telling class <paramref name="positiveClass"/> (the anomaly) from the rest.</summary>
    public static double AnomalyAuroc(IReadOnlyList<double> scores, ImageDataset data, int positiveClass)
    {
        var labels = data.Labels.data<long>().ToArray();
        return Auroc.Compute(scores, labels.Select(l => l == positiveClass).ToArray());
    }

    /// <summary>Encodes images to quantised latent codes; returns them (and writes the file).</summary>
    public static LatentCodes Encode(IGenerativeModel model, ImageDataset data, string outPath, int bits)
    {
        var ae = Autoencoder(model);
        var latents = new List<Tensor>();
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var batchLabels = batch.Labels;
            latents.Add(ae.Encode(images.to(model.Device)).cpu().MoveToOuterDisposeScope());
        }
        using var all = torch.cat(latents, 0);
        foreach (var t in latents) t.Dispose();
        var codes = LatentCodes.Quantize(all, bits, data.Channels, data.Height, data.Width);
        EnsureParent(outPath);
        codes.Save(outPath);
        return codes;
    }

    /// <summary>Decodes a code file to images in [0,1] (N,C,H,W) on the CPU.</summary>
    public static Tensor Decode(IGenerativeModel model, LatentCodes codes)
    {
        var ae = Autoencoder(model);
        if (codes.LatentDim != ae.LatentDim)
            throw new GenSharpException($"the codes have {codes.LatentDim} latent dims but the model has {ae.LatentDim}; decode with the checkpoint that encoded them");
        using var z = codes.Dequantize();
        var parts = new List<Tensor>();
        for (int i = 0; i < codes.Count; i += 256)
            parts.Add(ae.Decode(z.narrow(0, i, Math.Min(256, codes.Count - i))).cpu());
        return torch.cat(parts, 0);
    }

    /// <summary>Mean reconstruction PSNR (dB) of decoded images against the originals.</summary>
    public static double MeanPsnr(ImageDataset data, Tensor decoded)
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTransforms.ToFloat(data.Images, PixelScale.ZeroOne);
        return Psnr.PerImage(x, decoded.cpu()).mean().item<float>();
    }

    /// <summary>
    /// Corrupts the images, reconstructs them with the autoencoder (an energy model: Langevin dynamics started at the
    /// noisy image, its denoise_steps steps), writes a grid (rows: clean,
    /// noisy, denoised) and returns mean PSNR before and after.
    /// </summary>
    public static (double NoisyPsnr, double DenoisedPsnr) Denoise(IGenerativeModel model, ImageDataset data, ImageNoise noise,
        string outPath, long seed, int gridItems = 16)
    {
        Func<Tensor, Tensor> reconstruct = model is IImageDenoiser denoiser ? denoiser.Denoise : Autoencoder(model).Reconstruct;
        torch.manual_seed(seed);
        double before = 0, after = 0;
        Tensor? clean0 = null, noisy0 = null, den0 = null;
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var batchLabels = batch.Labels;
            var clean = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
            var noisy = noise.Apply(clean);
            var den = reconstruct(noisy).cpu();
            before += Psnr.PerImage(clean, noisy).sum().item<float>();
            after += Psnr.PerImage(clean, den).sum().item<float>();
            if (clean0 is null)
            {
                int m = (int)Math.Min(gridItems, images.shape[0]);
                clean0 = clean.narrow(0, 0, m).MoveToOuterDisposeScope();
                noisy0 = noisy.narrow(0, 0, m).MoveToOuterDisposeScope();
                den0 = den.narrow(0, 0, m).MoveToOuterDisposeScope();
            }
        }
        EnsureParent(outPath);
        ImageGrid.SaveRows(new[] { clean0!, noisy0!, den0! }, outPath, padding: 2, scale: 2);
        clean0!.Dispose(); noisy0!.Dispose(); den0!.Dispose();
        return (before / data.Count, after / data.Count);
    }

    /// <summary>Writes a grid: a row of test images over a row of their reconstructions.</summary>
    public static void WriteReconstructions(IAutoencoder ae, ImageDataset data, string path, int n = 16)
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTransforms.ToFloat(data.Images.narrow(0, 0, Math.Min(n, data.Count)), PixelScale.ZeroOne);
        var r = ae.Reconstruct(x).cpu();
        EnsureParent(path);
        ImageGrid.SaveRows(new[] { x, r }, path, padding: 2, scale: 2);
    }

    /// <summary>
    /// Writes latent interpolation strips: for pairs of test images of different classes, decodes
    /// (1 − t)·z₀ + t·z₁ for t from 0 to 1; one row per pair.
    /// </summary>
    public static void WriteInterpolation(IAutoencoder ae, ImageDataset data, string path, int pairs = 4, int steps = 10)
    {
        using var scope = torch.NewDisposeScope();
        var rows = new List<Tensor>();
        var labels = data.Labels.data<long>().ToArray();
        int a = 0;
        for (int p = 0; p < pairs && a < data.Count; p++)
        {
            int b = Array.FindIndex(labels, a + 1, l => l != labels[a]);
            if (b < 0) break;
            var idx = torch.tensor(new long[] { a, b });
            var z = ae.Encode(data.Images.index_select(0, idx));                       // (2, D)
            var t = torch.linspace(0, 1, steps, device: z.device).unsqueeze(1);       // (steps, 1)
            var zs = z[0].unsqueeze(0) * (1 - t) + z[1].unsqueeze(0) * t;             // (steps, D)
            rows.Add(ae.Decode(zs).cpu());
            a = b + 1;
        }
        if (rows.Count == 0) return;
        EnsureParent(path);
        ImageGrid.SaveRows(rows, path, padding: 2, scale: 2);
    }

    static IAutoencoder Autoencoder(IGenerativeModel model) => model as IAutoencoder
        ?? throw new GenSharpException($"{model.Family} has no encoder; this command needs an autoencoder family such as vae (denoise also takes ebm)");


    static void EnsureParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
    }
}
