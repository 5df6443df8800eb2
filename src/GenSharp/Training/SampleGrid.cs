using GenSharp.Models;

namespace GenSharp.Training;

/// <summary>Draws the samples for a grid: one row per class for conditional models.</summary>
public static class SampleGrid
{
    /// <summary>
    /// Returns (images (N,C,H,W) in [0,1], columns) drawn with the sampler's default options, or null when the model is
    /// not an <see cref="IImageSampler"/>.
    /// </summary>
    public static (Tensor Images, int Columns)? Draw(ITrainable model, int n)
    {
        if (model is not IImageSampler sampler) return null;
        int k = sampler.ConditionalClasses;
        if (k > 0)
        {
            int perClass = Math.Max(1, n / k);
            using var labels = torch.arange(k, dtype: ScalarType.Int64).repeat_interleave(perClass); // (k·perClass,) class-major
            return (sampler.Sample(k * perClass, labels), perClass);
        }
        return (sampler.Sample(n, null), (int)Math.Ceiling(Math.Sqrt(n)));
    }
}
