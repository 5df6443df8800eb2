namespace GenSharp.Models.Vae;

/// <summary>Registry entry for <c>vae</c>.</summary>
public sealed class VaeFamily : Family<VaeConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "vae";
    public override string Name => FamilyName;
    public override string Summary => "convolutional VAE, Gaussian latent, Bernoulli decoder; ELBO/IWAE likelihood, anomaly scores, denoising, compression";
    public override FamilyGuidance? Guidance => new("0.08 s", "300 MB", 2000);
    public override int DefaultBatchSize => 128;
    protected override IGenerativeModel Build(VaeConfig config, Device device) => new VaeModel(config, device);
}
