namespace GenSharp.Models.Autoregressive;

/// <summary>Registry entry for <c>pixelcnn</c>.</summary>
public sealed class PixelCnnFamily : Family<PixelCnnConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "pixelcnn";
    public override string Name => FamilyName;
    public override string Summary => "Gated PixelCNN, autoregressive over pixels; exact likelihood (256-way softmax or Bernoulli), class-conditional, image completion";
    public override FamilyGuidance? Guidance => new("3 s", "3.7 GB", 300, "slow and memory-hungry at 64 channels; --set channels=32 for a quick look");
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(PixelCnnConfig config, Device device) => new PixelCnnModel(config, device);
}
