using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>Per-image anomaly scores: the model's negative log-likelihood (or its bound) in nats; higher = more anomalous.</summary>
public static class Scoring
{
    /// <summary>The score of every image of <paramref name="data"/>, in order.</summary>
    public static double[] Run(ILikelihoodModel model, ImageDataset data, long seed)
    {
        torch.manual_seed(seed);
        var scores = new List<double>(data.Count);
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var labels = batch.Labels;
            scores.AddRange(model.NegativeLogLikelihood(images.to(model.Device)).cpu().to(ScalarType.Float64).data<double>().ToArray());
        }
        return scores.ToArray();
    }

    /// <summary>AUROC of <paramref name="scores"/> for telling class <paramref name="positiveClass"/> (the anomaly) from the rest.</summary>
    public static double AnomalyAuroc(IReadOnlyList<double> scores, ImageDataset data, int positiveClass)
    {
        if (positiveClass < 0 || positiveClass >= data.NumClasses)
            throw new ParameterException("anomaly_class", $"{positiveClass}: must be in [0, {data.NumClasses - 1}]");
        var labels = data.Labels.data<long>().ToArray();
        return Auroc.Compute(scores, labels.Select(l => l == positiveClass).ToArray());
    }
}
