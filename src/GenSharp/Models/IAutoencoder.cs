namespace GenSharp.Models;

/// <summary>A model with an encoder to a latent vector and a decoder back to images.</summary>
public interface IAutoencoder
{
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>Latent dimensionality.</summary>
    int LatentDim { get; }
    /// <summary>Posterior mean for raw uint8 images (B,C,H,W): (B, LatentDim).</summary>
    Tensor Encode(Tensor images);
    /// <summary>Decoder mean in [0,1] for latents (B, LatentDim): (B,C,H,W).</summary>
    Tensor Decode(Tensor latents);
    /// <summary>Encodes float images in [0,1] (e.g. noisy ones) and decodes: (B,C,H,W) in [0,1].</summary>
    Tensor Reconstruct(Tensor images01);
}
