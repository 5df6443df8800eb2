namespace GenSharp.Models.Diffusion;

/// <summary>Registry entry for <c>ddpm</c>.</summary>
public sealed class DdpmFamily : Family<DdpmConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "ddpm";
    public override string Name => FamilyName;
    public override string Summary => "denoising diffusion (UNet, linear/cosine schedule, ε or v); DDPM/DDIM sampling, classifier-free guidance, inpainting, latent diffusion";
    public override FamilyGuidance? Guidance => new("1 s", "1.2 GB", 2000, "good samples need ~20,000");
    public override int DefaultBatchSize => 64;
    /// <summary>Sampling from an EMA of the weights is part of the DDPM recipe (Ho et al. used 0.9999 over 800k steps).</summary>
    public override double? DefaultEmaDecay => 0.999;
    protected override IGenerativeModel Build(DdpmConfig config, Device device) => new DdpmModel(config, device);
}
