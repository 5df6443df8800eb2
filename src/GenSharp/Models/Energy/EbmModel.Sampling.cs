namespace GenSharp.Models.Energy;

public sealed partial class EbmModel : IImageInpainter, IImageDenoiser
{
    public SamplerOptions DefaultSamplerOptions => new LangevinSamplerOptions { Steps = _config.SampleSteps, Init = _config.SampleInit };

    /// <summary>Langevin chains from noise or the replay buffer; the chains draw from torch's global generator.</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null)
    {
        var o = Options(options);
        return Sample(n, o.Steps, o.Init == "buffer");
    }

    public IReadOnlyDictionary<string, object?> RecordSampler(SamplerOptions options)
    {
        var o = Options(options);
        return new Dictionary<string, object?> { ["langevin_steps"] = o.Steps, ["init"] = o.Init };
    }

    public string DescribeSampler(SamplerOptions options)
    {
        var o = Options(options);
        return $"Langevin {o.Steps} steps from {(o.Init == "buffer" ? "the replay buffer" : "uniform noise")}";
    }

    /// <summary>Clamped Langevin from noise; <see cref="LangevinSamplerOptions.Init"/> does not apply.</summary>
    public Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, SamplerOptions options, Generator generator)
    {
        if (labels is not null) throw new ParameterException("class", "does not apply: the ebm is not class-conditional");
        return Inpaint(images, knownMask, Options(options).Steps, generator);
    }

    /// <summary>Langevin from the noisy images for denoise_steps steps.</summary>
    Tensor IImageDenoiser.Denoise(Tensor noisy01) => Denoise(noisy01);

    static LangevinSamplerOptions Options(SamplerOptions options) => options as LangevinSamplerOptions
        ?? throw new ArgumentException($"ebm samples with {nameof(LangevinSamplerOptions)}, got {options.GetType().Name}", nameof(options));
}
