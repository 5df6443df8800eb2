namespace GenSharp.Models.Energy;

/// <summary>Registry entry for <c>ebm</c>.</summary>
public sealed class EbmFamily : Family<EbmConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "ebm";
    public override string Name => FamilyName;
    public override string Summary => "convolutional energy-based model trained by short-run Langevin contrastive divergence with a replay buffer; Langevin sampling, inpainting and denoising; energy anomaly scores";
    public override FamilyGuidance? Guidance => new("2 s", "650 MB", 300, "each step runs langevin_steps Langevin steps");
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(EbmConfig config, Device device) => new EbmModel(config, device);
}
