namespace GenSharp.Models.TextDiffusion;

/// <summary>How <c>txt2img</c> samples: the prompt and negative prompt, scheduler, steps, guidance, and image-to-image strength.</summary>
public sealed record TextDiffusionSamplerOptions : SamplerOptions
{
    /// <summary>What to draw; null = the class noun of each requested label ("a photo of a sandal").</summary>
    public string? Prompt { get; init; }
    /// <summary>What to steer away from: replaces the empty prompt of classifier-free guidance; null = the empty prompt.</summary>
    public string? NegativePrompt { get; init; }
    /// <summary>One of ddpm, ddim, euler, euler-a, dpm++2m.</summary>
    public string Scheduler { get; init; } = "dpm++2m";
    /// <summary>Sampling steps; null = the checkpoint's sampler_steps.</summary>
    public int? Steps { get; init; }
    /// <summary>DDIM's η.</summary>
    public double Eta { get; init; }
    /// <summary>Classifier-free guidance w: ε̂ = ε_neg + w(ε_prompt − ε_neg); 1 = plain conditional, 0 = the negative/empty prompt alone.</summary>
    public double GuidanceScale { get; init; } = 3;
    /// <summary>Image-to-image (SDEdit): how far the init image is noised, 0 (kept) … 1 (ignored); used only with init images.</summary>
    public double Strength { get; init; } = 0.6;

    public override void Validate()
    {
        if (!GenSharp.Sampling.Schedulers.Names.Contains(Scheduler))
            throw new ParameterException("scheduler", $"{Scheduler}: unknown scheduler; use one of {string.Join(", ", GenSharp.Sampling.Schedulers.Names)}");
        if (Steps is < 1) throw new ParameterException("steps", $"must be ≥ 1, got {Steps}");
        if (!(Eta >= 0 && double.IsFinite(Eta))) throw new ParameterException("eta", $"must be a finite number ≥ 0, got {Eta}");
        if (!(GuidanceScale >= 0 && double.IsFinite(GuidanceScale))) throw new ParameterException("guidance_scale", $"must be a finite number ≥ 0, got {GuidanceScale}");
        if (!(Strength >= 0 && Strength <= 1)) throw new ParameterException("strength", $"must be in [0, 1], got {Strength}");
        if (Prompt is { Length: > 500 }) throw new ParameterException("prompt", "is longer than 500 characters");
    }
}
