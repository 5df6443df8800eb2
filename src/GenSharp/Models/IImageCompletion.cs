namespace GenSharp.Models;

/// <summary>An autoregressive model that can complete an image given its first pixels in raster order.</summary>
public interface IImageCompletion : IImageSampler
{
    /// <summary>Device the model lives on (labels go there).</summary>
    Device Device { get; }

    /// <summary>
    /// Keeps the first <paramref name="knownPixels"/> pixels (raster order: row by row, every channel
    /// of a pixel known together) of each raw uint8 image (B,C,H,W) and samples the rest from the model.
    /// Returns float images in [0,1], (B,C,H,W) on the CPU; the known pixels equal the input's exactly.
    /// Uses torch's global generator.
    /// </summary>
    Tensor Complete(Tensor images, long knownPixels, Tensor? labels);
}
