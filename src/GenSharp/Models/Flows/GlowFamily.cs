namespace GenSharp.Models.Flows;

/// <summary>Registry entry for <c>glow</c>.</summary>
public sealed class GlowFamily : Family<GlowConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "glow";
    public override string Name => FamilyName;
    public override string Summary => "Glow flow: ActNorm, invertible 1×1 convs, affine coupling, multi-scale learned priors; exact likelihood, temperature sampling, exact encode/decode";
    public override FamilyGuidance? Guidance => new("0.25 s", "500 MB", 1000);
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(GlowConfig config, Device device) => new GlowModel(config, device);
}
