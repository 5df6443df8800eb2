using static TorchSharp.torch;

namespace GenSharp.Models.Autoregressive;

/// <summary>Registry entry for <c>pixelcnn</c>.</summary>
public sealed class PixelCnnFamily : Family<PixelCnnConfig>
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "pixelcnn";
    public override string Name => FamilyName;
    public override string Summary => "Gated PixelCNN, autoregressive over pixels; exact likelihood (256-way softmax or Bernoulli), class-conditional, image completion";
    public override int DefaultBatchSize => 64;
    protected override IGenerativeModel Build(PixelCnnConfig config, Device device) => new PixelCnnModel(config, device);
}
