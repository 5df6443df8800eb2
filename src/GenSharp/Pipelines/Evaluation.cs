using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>A model's own test metrics: likelihood in nats and bits/dim, or a classifier's accuracy.</summary>
public static class Evaluation
{
    /// <summary>
    /// Likelihood families: mean per image of their metrics (nats and bits/dim; see <see cref="ILikelihoodModel.LikelihoodDescription"/>);
    /// classifiers: accuracy, loss and per-class accuracy. <paramref name="progress"/>(done, total) after each batch.
    /// </summary>
    public static Dictionary<string, double> Run(object model, ImageDataset data, EvalSettings settings, Action<int, int>? progress = null)
    {
        if (model is IImageClassifier classifier) return classifier.Evaluate(data, progress: progress);
        if (model is not ILikelihoodModel lm)
            throw new GenSharpException($"{(model as IGenerativeModel)?.Family ?? "this model"} gives no likelihood; eval applies to likelihood families such as vae, or pass a classifier for sample-quality metrics");
        if (settings.ImportanceSamples < 1) throw new ParameterException("k", $"must be ≥ 1, got {settings.ImportanceSamples}");
        return LikelihoodReport.Evaluate(lm, data, lm.Device, settings, null, batchSize: Math.Max(1, 10_000 / settings.ImportanceSamples), progress);
    }
}
