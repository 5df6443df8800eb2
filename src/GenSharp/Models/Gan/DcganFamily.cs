namespace GenSharp.Models.Gan;

/// <summary>Registry entry for <c>dcgan</c>.</summary>
public sealed class DcganFamily : Family<DcganConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "dcgan";
    public override string Name => FamilyName;
    public override string Summary => "DCGAN, non-saturating loss, optional class conditioning and spectral norm";
    public override FamilyGuidance? Guidance => new("0.3 s", "400 MB", 1500);
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(DcganConfig config, Device device) => new DcganModel(config, device);
}
