namespace GenSharp.Models.Energy;

/// <summary>
/// Gibbs chains from the training pixel means (rbm, dbn), as many sweeps as the <see cref="GibbsSamplerOptions"/> ask
/// (the config's sample_steps by default); they draw from torch's global generator.
/// </summary>
public interface IGibbsSampler : IImageSampler<GibbsSamplerOptions>
{
    /// <summary>Gibbs sweeps per sample from the config (sample_steps).</summary>
    int SampleSteps { get; }

    /// <summary>Draws <paramref name="n"/> images (n, C, H, W) in [0, 1] on the CPU after <paramref name="steps"/> sweeps.</summary>
    Tensor Sample(int n, int steps);

    SamplerOptions IImageSampler.DefaultSamplerOptions => new GibbsSamplerOptions { Steps = SampleSteps };

    Tensor IImageSampler<GibbsSamplerOptions>.Sample(int n, Tensor? labels, GibbsSamplerOptions options, Generator? generator, Action<int, Tensor>? onStep) =>
        Sample(n, options.Steps);
}
