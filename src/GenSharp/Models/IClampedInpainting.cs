namespace GenSharp.Models;

/// <summary>
/// A model that fills the unknown region of images with its own sampler (no scheduler), clamping the known pixels
/// at every step, e.g. an energy model by Langevin dynamics. Diffusion models implement <see cref="IInpainting"/>.
/// </summary>
public interface IClampedInpainting
{
    /// <summary>
    /// Keeps the pixels of raw uint8 <paramref name="images"/> (B, C, H, W) where <paramref name="knownMask"/>
    /// (bool, broadcastable to the images, e.g. (B, 1, H, W); true = known) is set and samples the rest.
    /// Returns float images in [0,1], (B, C, H, W) on the CPU, whose known pixels equal the input's (x/255) exactly.
    /// <paramref name="steps"/> null = the model's default. Noise from <paramref name="gen"/> or torch's global generator.
    /// </summary>
    Tensor Inpaint(Tensor images, Tensor knownMask, int? steps = null, Generator? gen = null);
}
