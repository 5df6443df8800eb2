namespace GenSharp.Models;

/// <summary>
/// An <see cref="IImageSampler"/> without sampler options (<see cref="SamplerOptions.None"/>): it draws from torch's
/// global generator and reports no steps.
/// </summary>
public interface IPlainImageSampler : IImageSampler
{
    /// <summary>Draws <paramref name="n"/> images as floats in [0,1], (n, C, H, W) on the CPU; labels as in <see cref="IImageSampler.Sample"/>.</summary>
    Tensor Sample(int n, Tensor? labels);

    SamplerOptions IImageSampler.DefaultSamplerOptions => SamplerOptions.None;

    Tensor IImageSampler.Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep) =>
        Sample(n, labels);
}
