using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>How much a denoising pass helped, and the first images for a picture; dispose to free the tensors.</summary>
/// <param name="Clean">The first images, (k, C, H, W) in [0,1].</param>
/// <param name="Noisy">Their corrupted copies.</param>
/// <param name="Denoised">What the model made of them.</param>
/// <param name="NoisyPsnr">Mean PSNR (dB) of the corrupted images over the whole set.</param>
/// <param name="DenoisedPsnr">Mean PSNR (dB) of the denoised images over the whole set.</param>
public sealed record DenoisedImages(Tensor Clean, Tensor Noisy, Tensor Denoised, double NoisyPsnr, double DenoisedPsnr) : IDisposable
{
    public void Dispose()
    {
        Clean.Dispose();
        Noisy.Dispose();
        Denoised.Dispose();
    }
}

/// <summary>
/// Corrupts images and cleans them up with a model: an <see cref="IImageDenoiser"/> by its own means (an energy model's
/// Langevin descent), an <see cref="IAutoencoder"/> by encoding and decoding.
/// </summary>
public static class Denoising
{
    /// <summary>Corrupts every image of <paramref name="data"/> with <paramref name="noise"/> (seeded) and denoises it.</summary>
    public static DenoisedImages Run(object model, ImageDataset data, ImageNoise noise, long seed, int keep = 16)
    {
        Func<Tensor, Tensor> denoise = model switch
        {
            IImageDenoiser d => d.Denoise,
            IAutoencoder ae => ae.Reconstruct,
            _ => throw new GenSharpException($"{(model as IGenerativeModel)?.Family ?? "this model"} has no encoder and no denoiser; denoise takes an autoencoder (vae, realnvp, glow) or an ebm"),
        };
        torch.manual_seed(seed);
        double before = 0, after = 0;
        Tensor? clean0 = null, noisy0 = null, den0 = null;
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var labels = batch.Labels;
            var clean = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
            var noisy = noise.Apply(clean);
            var den = denoise(noisy).cpu();
            before += Psnr.PerImage(clean, noisy).sum().item<float>();
            after += Psnr.PerImage(clean, den).sum().item<float>();
            if (clean0 is null)
            {
                int m = (int)Math.Min(keep, images.shape[0]);
                clean0 = clean.narrow(0, 0, m).MoveToOuterDisposeScope();
                noisy0 = noisy.narrow(0, 0, m).MoveToOuterDisposeScope();
                den0 = den.narrow(0, 0, m).MoveToOuterDisposeScope();
            }
        }
        if (clean0 is null) throw new GenSharpException($"{data.Source} holds no images to denoise");
        return new DenoisedImages(clean0, noisy0!, den0!, before / data.Count, after / data.Count);
    }
}
