namespace GenSharp.Models.Energy;

/// <summary>Registry entry for <c>rbm</c>.</summary>
public sealed class RbmFamily : Family<RbmConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "rbm";
    public override string Name => FamilyName;
    public override string Summary => "Bernoulli–Bernoulli RBM on binarized pixels, CD-k or persistent CD; Gibbs sampling; log Z and test log-likelihood by AIS; free-energy anomaly scores";
    public override FamilyGuidance? Guidance => new("0.02 s", "300 MB", 6000);
    public override int DefaultBatchSize => 100;
    protected override IGenerativeModel Build(RbmConfig config, Device device) => new RbmModel(config, device);
}
