using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Evaluation;

/// <summary>Test-set likelihood of a model: averages per-item metrics and converts nats to bits/dim.</summary>
public static class LikelihoodReport
{
    /// <summary>
    /// Runs <see cref="ILikelihoodModel.EvaluateBatch"/> over the dataset (first <paramref name="limit"/> items)
    /// and returns means per item, plus "_bpd" (bits per dimension = nats / (D·ln 2)) for every *nll/*elbo metric.
    /// </summary>
    public static Dictionary<string, double> Evaluate(ILikelihoodModel model, ImageDataset data, Device device,
        EvalSettings settings, int? limit = null, int batchSize = 100, Action<int, int>? progress = null)
    {
        var ds = limit is { } l && l < data.Count ? data.Take(l) : data;
        var sums = new Dictionary<string, double>();
        int done = 0;
        torch.manual_seed(settings.Seed);
        foreach (var batch in BatchLoader.InOrder(ds, batchSize))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var batchLabels = batch.Labels;
            foreach (var (k, v) in model.EvaluateBatch(images.to(device), settings))
                sums[k] = sums.GetValueOrDefault(k) + v;
            done += (int)images.shape[0];
            progress?.Invoke(done, ds.Count);
        }
        double dims = (double)ds.Channels * ds.Height * ds.Width;
        var result = sums.ToDictionary(kv => kv.Key, kv => kv.Value / done);
        foreach (var k in result.Keys.ToList())
            if (k.EndsWith("nll") || k.EndsWith("elbo"))
                result[k + "_bpd"] = result[k] / (dims * Math.Log(2));
        result["items"] = done;
        if (result.Keys.Any(k => k.StartsWith("iwae"))) result["importance_samples"] = settings.ImportanceSamples;
        return result;
    }
}
