namespace GenSharp.Models;

/// <summary>A model that fills the unknown region of images and keeps the known pixels (diffusion, energy models).</summary>
public interface IImageInpainter : IImageSampler
{
    /// <summary>
    /// Keeps the pixels of raw uint8 <paramref name="images"/> (B, C, H, W) where <paramref name="knownMask"/> (bool,
    /// broadcastable to (B, 1, H, W); true = known) is set and samples the rest with <paramref name="options"/>.
    /// Returns float images in [0,1], (B, C, H, W) on the CPU whose known pixels equal the input's (x/255) exactly.
    /// <paramref name="labels"/> (B) for conditional models (null = no class).
    /// </summary>
    Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, SamplerOptions options, Generator generator);
}
