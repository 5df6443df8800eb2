namespace GenSharp.Models;

/// <summary>A sampler that can start from given images instead of noise (image-to-image, e.g. SDEdit).</summary>
public interface IImageToImage
{
    /// <summary>
    /// One output per init image (B, C, H, W) in [0,1], as floats in [0,1] on the CPU; <paramref name="options"/> are the
    /// model's own sampler options (they say how strongly the init is changed).
    /// </summary>
    Tensor ImageToImage(Tensor init01, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null);
}
