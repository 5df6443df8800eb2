using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>Draws the samples for a grid: one row per class for conditional models.</summary>
public static class SampleGrid
{
    /// <summary>Returns (images (N,C,H,W) in [0,1], columns) or null when the model cannot sample.</summary>
    public static (Tensor Images, int Columns)? Draw(ITrainable model, int n)
    {
        int k = model.ConditionalClasses;
        if (k > 0)
        {
            int perClass = Math.Max(1, n / k);
            using var labels = torch.arange(k, dtype: ScalarType.Int64).repeat_interleave(perClass); // (k·perClass,) class-major
            var images = model.Sample(k * perClass, labels);
            return images is null ? null : (images, perClass);
        }
        var x = model.Sample(n, null);
        return x is null ? null : (x, (int)Math.Ceiling(Math.Sqrt(n)));
    }
}
