namespace GenSharp.Models.Diffusion;

/// <summary>How a diffusion model samples: the scheduler, its steps and η, the guidance scale, RePaint resampling.</summary>
public sealed record DiffusionSamplerOptions : SamplerOptions
{
    /// <summary><c>ddpm</c> (ancestral, Ho et al. 2020), <c>ddim</c> (Song et al. 2021), <c>euler</c>, <c>euler-a</c> (Karras et al. 2022) or <c>dpm++2m</c> (Lu et al. 2022).</summary>
    public string Scheduler { get; init; } = "ddim";
    /// <summary>Sampling steps (1 … T); null = the checkpoint's sampler_steps, or all T steps for ddpm when the checkpoint samples with ddim.</summary>
    public int? Steps { get; init; }
    /// <summary>DDIM's η: 0 = deterministic, 1 = as stochastic as DDPM.</summary>
    public double Eta { get; init; }
    /// <summary>Classifier-free guidance scale w (0 = unconditional, 1 = plain conditional, &gt; 1 sharper classes); conditional models only.</summary>
    public double GuidanceScale { get; init; } = 1;
    /// <summary>Inpainting: RePaint runs every segment of <see cref="Jump"/> steps this many times (1 = no resampling).</summary>
    public int Resample { get; init; } = 1;
    /// <summary>Inpainting: RePaint's jump length (null = 10, or the step count if smaller).</summary>
    public int? Jump { get; init; }

    public override void Validate()
    {
        if (!GenSharp.Sampling.Schedulers.Names.Contains(Scheduler)) throw new ParameterException("scheduler", $"{Scheduler}: unknown scheduler; use one of {string.Join(", ", GenSharp.Sampling.Schedulers.Names)}");
        if (Steps is < 1) throw new ParameterException("steps", $"must be ≥ 1, got {Steps}");
        if (!(Eta >= 0 && double.IsFinite(Eta))) throw new ParameterException("eta", $"must be a finite number ≥ 0, got {Eta}");
        if (!(GuidanceScale >= 0 && double.IsFinite(GuidanceScale))) throw new ParameterException("guidance_scale", $"must be a finite number ≥ 0, got {GuidanceScale}");
        if (Resample < 1) throw new ParameterException("resample", $"must be ≥ 1, got {Resample}");
        if (Jump is < 1) throw new ParameterException("jump", $"must be ≥ 1, got {Jump}");
    }
}
