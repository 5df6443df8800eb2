using GenSharp.Training;

namespace GenSharp.Models;

/// <summary>Asks a model for a capability with a one-line error when it lacks it.</summary>
public static class ModelCapabilities
{
    /// <summary>The model as the trainer sees it.</summary>
    public static ITrainable Trainable(this IGenerativeModel model) =>
        model as ITrainable ?? throw new GenSharpException($"{model.Family} models cannot be trained");

    /// <summary>
    /// Draws <paramref name="n"/> images with the sampler's <see cref="IImageSampler.DefaultSamplerOptions"/> from torch's
    /// global generator (as the trainer's sample grids do).
    /// </summary>
    public static Tensor Sample(this IImageSampler sampler, int n, Tensor? labels) =>
        sampler.Sample(n, labels, sampler.DefaultSamplerOptions, null);
}
