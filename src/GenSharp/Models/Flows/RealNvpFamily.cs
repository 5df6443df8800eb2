namespace GenSharp.Models.Flows;

/// <summary>Registry entry for <c>realnvp</c>.</summary>
public sealed class RealNvpFamily : Family<RealNvpConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "realnvp";
    public override string Name => FamilyName;
    public override string Summary => "RealNVP normalizing flow: multi-scale affine couplings, batch norm; exact likelihood (bits/dim), temperature sampling, invertible encoding";
    public override FamilyGuidance? Guidance => new("0.5 s", "650 MB", 1000);
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(RealNvpConfig config, Device device) => new RealNvpModel(config, device);
}
