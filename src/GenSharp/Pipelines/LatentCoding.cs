using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>Lossy compression with an autoencoder: images → quantised latent codes → images.</summary>
public static class LatentCoding
{
    /// <summary>Encodes every image of <paramref name="data"/> and quantises each latent coordinate to <paramref name="bits"/> bits.</summary>
    public static LatentCodes Encode(IAutoencoder model, ImageDataset data, int bits)
    {
        var latents = new List<Tensor>();
        foreach (var batch in BatchLoader.InOrder(data, 256))
        {
            using var scope = torch.NewDisposeScope();
            using var images = batch.Images;   // the batch is ours to dispose
            using var labels = batch.Labels;
            latents.Add(model.Encode(images.to(model.Device)).cpu().MoveToOuterDisposeScope());
        }
        using var all = torch.cat(latents, 0);
        foreach (var t in latents) t.Dispose();
        return LatentCodes.Quantize(all, bits, data.Channels, data.Height, data.Width);
    }

    /// <summary>Decodes codes to images in [0,1] (N, C, H, W) on the CPU.</summary>
    public static Tensor Decode(IAutoencoder model, LatentCodes codes)
    {
        if (codes.LatentDim != model.LatentDim)
            throw new GenSharpException($"the codes have {codes.LatentDim} latent dims but the model has {model.LatentDim}; decode with the checkpoint that encoded them");
        using var z = codes.Dequantize();
        var parts = new List<Tensor>();
        for (int i = 0; i < codes.Count; i += 256)
            using (var scope = torch.NewDisposeScope())
                parts.Add(model.Decode(z.narrow(0, i, Math.Min(256, codes.Count - i))).cpu().MoveToOuterDisposeScope());
        var all = torch.cat(parts, 0);
        foreach (var t in parts) t.Dispose();
        return all;
    }

    /// <summary>Mean PSNR (dB) of decoded images against the originals.</summary>
    public static double MeanPsnr(ImageDataset data, Tensor decoded)
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTransforms.ToFloat(data.Images, PixelScale.ZeroOne);
        return Psnr.PerImage(x, decoded.cpu()).mean().item<float>();
    }
}
