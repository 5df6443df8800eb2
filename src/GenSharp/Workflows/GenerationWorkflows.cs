using GenSharp.Data;
using GenSharp.Media;
using GenSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Workflows;

/// <summary>Sampling beyond plain grids: image completion, temperature sweeps, latent interpolation.</summary>
public static class GenerationWorkflows
{
    /// <summary>
    /// Completes each input image <paramref name="samplesPerImage"/> times from its first
    /// <paramref name="knownPixels"/> pixels in raster order and writes one row per input:
    /// the known part (unknown pixels mid-grey), the completions, then the original.
    /// </summary>
    public static void Complete(IGenerativeModel model, Tensor images, long knownPixels, int samplesPerImage,
        string outPath, long seed, int? classLabel)
    {
        var completion = model as IImageCompletion
            ?? throw new GenSharpException($"{model.Family} cannot complete images; --complete needs an autoregressive family such as pixelcnn");
        var cfg = ImageFamilyConfig.Of(model);
        long pixels = (long)cfg.ImageSize * cfg.ImageSize;
        if (knownPixels < 0 || knownPixels > pixels)
            throw new GenSharpException($"known pixels must be in [0, {pixels}] (--rows in [0, {cfg.ImageSize}]), got {knownPixels}");
        if (samplesPerImage < 1 || samplesPerImage > 64) throw new GenSharpException($"--n must be in [1, 64] completions per image, got {samplesPerImage}");
        if (images.shape[0] > 64) throw new GenSharpException($"at most 64 images to complete at once, got {images.shape[0]}");
        if (images.shape[1] != cfg.ImageChannels || images.shape[2] != cfg.ImageSize || images.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"the model works on {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize} images, got ({string.Join("×", images.shape.Skip(1))})");
        Tensor? labels = null;
        if (model.ConditionalClasses > 0)
        {
            if (classLabel is not { } c) throw new GenSharpException("this model is class-conditional: give --class K for the completions");
            if (c < 0 || c >= model.ConditionalClasses) throw new GenSharpException($"--class {c}: must be in [0, {model.ConditionalClasses - 1}]");
        }
        else if (classLabel is not null) throw new GenSharpException("--class: this model is not class-conditional");

        torch.manual_seed(seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        var repeated = images.repeat_interleave(samplesPerImage, 0);              // (n·k, C, H, W), image-major
        if (classLabel is { } cls) labels = torch.full(repeated.shape[0], cls, dtype: ScalarType.Int64, device: model.Device);
        var done = completion.Complete(repeated.to(model.Device), knownPixels, labels).cpu()
            .reshape(n, samplesPerImage, cfg.ImageChannels, cfg.ImageSize, cfg.ImageSize);
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var known = KnownMask(knownPixels, cfg.ImageSize);                        // (1, 1, H, W) bool
        var shown = torch.where(known, original, torch.full_like(original, 0.5));
        var rows = new List<Tensor>();
        for (long i = 0; i < n; i++)
            rows.Add(torch.cat(new[] { shown.narrow(0, i, 1), done[i], original.narrow(0, i, 1) }, 0));
        ImageWorkflows.SaveImages(torch.cat(rows, 0), outPath, samplesPerImage + 2);
    }

    /// <summary>(1,1,H,W) mask of the first <paramref name="knownPixels"/> pixels in raster order.</summary>
    public static Tensor KnownMask(long knownPixels, int size) =>
        torch.arange((long)size * size).lt(knownPixels).reshape(1, 1, size, size);
}
