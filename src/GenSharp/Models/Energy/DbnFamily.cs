namespace GenSharp.Models.Energy;

/// <summary>Registry entry for <c>dbn</c>.</summary>
public sealed class DbnFamily : Family<DbnConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "dbn";
    public override string Name => FamilyName;
    public override string Summary => "deep belief net: greedily stacked RBMs (CD-k/PCD); Gibbs in the top RBM + downward pass; variational lower bound with AIS for the top RBM";
    public override FamilyGuidance? Guidance => new("0.02 s", "300 MB", 4000);
    public override int DefaultBatchSize => 100;
    protected override IGenerativeModel Build(DbnConfig config, Device device) => new DbnModel(config, device);
}
