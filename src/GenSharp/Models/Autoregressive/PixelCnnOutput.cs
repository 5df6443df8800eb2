namespace GenSharp.Models.Autoregressive;

/// <summary>What a PixelCNN predicts for each pixel.</summary>
public enum PixelCnnOutput
{
    /// <summary>A 256-way softmax over the 8-bit pixel value (exact discrete likelihood).</summary>
    Softmax256,
    /// <summary>One Bernoulli logit per pixel, for binarized images.</summary>
    Bernoulli,
}
