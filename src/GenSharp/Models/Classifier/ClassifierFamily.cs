namespace GenSharp.Models.Classifier;

/// <summary>Registry entry for <c>classifier</c>.</summary>
public sealed class ClassifierFamily : Family<ClassifierConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "classifier";
    public override string Name => FamilyName;
    public override string Summary => "CNN image classifier (not generative): test accuracy, and the feature extractor of eval --classifier (FD-cls, KID, precision/recall)";
    public override FamilyGuidance? Guidance => new("0.1 s", "300 MB", 2000);
    public override int DefaultBatchSize => 128;
    protected override IGenerativeModel Build(ClassifierConfig config, Device device) => new ClassifierModel(config, device);
}
