namespace GenSharp.Models.Energy;

public sealed partial class DbnModel : IImageSampler
{
    public IReadOnlyCollection<string> EvalParameters => ["k", "ais_chains", "ais_betas", "ais_runs"];

    public SamplerOptions DefaultSamplerOptions => new GibbsSamplerOptions { Steps = _config.SampleSteps };

    /// <summary>Gibbs chains from the training pixel means; they draw from torch's global generator.</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null) =>
        Sample(n, (options as GibbsSamplerOptions
            ?? throw new ArgumentException($"dbn samples with {nameof(GibbsSamplerOptions)}, got {options.GetType().Name}", nameof(options))).Steps);
}
