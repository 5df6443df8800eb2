namespace GenSharp.Models;

/// <summary>A model that cleans up corrupted images by its own means (an energy model descends its energy from them).</summary>
public interface IImageDenoiser
{
    /// <summary>Denoised images (B, C, H, W) in [0,1] on the CPU for float images <paramref name="noisy01"/> (B, C, H, W) nominally in [0,1].</summary>
    Tensor Denoise(Tensor noisy01);
}
