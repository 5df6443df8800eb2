namespace GenSharp.Models.Flows;

public sealed partial class RealNvpModel : IImageSampler
{
    public SamplerOptions DefaultSamplerOptions => new FlowSamplerOptions();

    /// <summary>z ~ N(0, T²·I) from torch's global generator, through the inverse flow.</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null) =>
        Sample(n, labels, (options as FlowSamplerOptions
            ?? throw new ArgumentException($"realnvp samples with {nameof(FlowSamplerOptions)}, got {options.GetType().Name}", nameof(options))).Temperature);
}
