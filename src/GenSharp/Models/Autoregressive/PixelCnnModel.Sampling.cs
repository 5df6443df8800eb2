namespace GenSharp.Models.Autoregressive;

public sealed partial class PixelCnnModel : IImageSampler
{
    public SamplerOptions DefaultSamplerOptions => SamplerOptions.None;

    /// <summary>Draws from torch's global generator; the sampler has no options.</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null) =>
        Sample(n, labels) ?? throw new InvalidOperationException("pixelcnn always samples");
}
