namespace GenSharp.Models.Flows;

/// <summary>
/// A flow's sampler: z ~ N(0, T²·I) from torch's global generator through the inverse flow, at the temperature of its
/// <see cref="FlowSamplerOptions"/>.
/// </summary>
public interface ITemperatureSampler : IImageSampler<FlowSamplerOptions>
{
    /// <summary>
    /// Draws <paramref name="n"/> samples at temperature <paramref name="temperature"/> (1 = the model's
    /// own distribution, 0 = the mode of the prior), as float images in [0,1], (n,C,H,W) on the CPU.
    /// Uses torch's global generator. <paramref name="labels"/> as in <see cref="IImageSampler.Sample"/>.
    /// </summary>
    Tensor Sample(int n, Tensor? labels, double temperature);

    SamplerOptions IImageSampler.DefaultSamplerOptions => new FlowSamplerOptions();

    Tensor IImageSampler<FlowSamplerOptions>.Sample(int n, Tensor? labels, FlowSamplerOptions options, Generator? generator, Action<int, Tensor>? onStep) =>
        Sample(n, labels, options.Temperature);
}
