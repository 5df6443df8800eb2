using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>How to complete images from their first pixels.</summary>
public sealed record CompletionOptions
{
    /// <summary>Pixels kept in raster order (row by row, every channel of a pixel together).</summary>
    public required long KnownPixels { get; init; }
    /// <summary>Completions drawn for each input image.</summary>
    public int PerImage { get; init; } = 8;
    /// <summary>Seeds torch's global generator, which the autoregressive sampler draws from.</summary>
    public long Seed { get; init; }
    /// <summary>Class of the completions; required by a class-conditional model, refused by others.</summary>
    public int? Class { get; init; }
}

/// <summary>Completes images from their first pixels with an autoregressive model (<see cref="IImageCompletion"/>).</summary>
public static class Completion
{
    /// <summary>Completes raw uint8 <paramref name="images"/> (B, C, H, W), <see cref="CompletionOptions.PerImage"/> times each.</summary>
    public static FilledImages Run(IImageCompletion model, Tensor images, CompletionOptions options)
    {
        var cfg = ImageFamilyConfig.Of(model);
        long pixels = (long)cfg.ImageSize * cfg.ImageSize;
        if (options.KnownPixels < 0 || options.KnownPixels > pixels)
            throw new ParameterException("known_pixels", $"{options.KnownPixels}: known pixels must be in [0, {pixels}] (rows in [0, {cfg.ImageSize}])");
        if (options.PerImage < 1 || options.PerImage > 64) throw new ParameterException("per_image", $"must be in [1, 64] completions per image, got {options.PerImage}");
        if (images.shape[0] > Inpainting.MaxImages) throw new ParameterException("images", $"takes at most {Inpainting.MaxImages} images at once, got {images.shape[0]}");
        Inpainting.CheckImages(images, cfg);
        if (model.ConditionalClasses > 0 && options.Class is null)
            throw new ParameterException("class", "is needed: this model is class-conditional; give the class of the completions");
        ImageSampling.CheckClass(options.Class, model.ConditionalClasses);

        torch.manual_seed(options.Seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        int k = options.PerImage;
        var repeated = images.repeat_interleave(k, 0);                                        // (n·k, C, H, W), image-major
        var device = model.Device;
        Tensor? labels = options.Class is { } cls ? torch.full(repeated.shape[0], cls, dtype: ScalarType.Int64, device: device) : null;
        var clock = Stopwatch.StartNew();
        var done = model.Complete(repeated.to(device), options.KnownPixels, labels).cpu()
            .reshape(n, k, cfg.ImageChannels, cfg.ImageSize, cfg.ImageSize);
        double perSecond = repeated.shape[0] / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var known = KnownMask(options.KnownPixels, cfg.ImageSize);                            // (1, 1, H, W) bool
        var shown = torch.where(known, original, torch.full_like(original, 0.5));
        return new FilledImages(done.MoveToOuterDisposeScope(), shown.MoveToOuterDisposeScope(), original.MoveToOuterDisposeScope(),
            $"the first {options.KnownPixels} pixels kept", perSecond);
    }

    /// <summary>(1, 1, H, W) mask of the first <paramref name="knownPixels"/> pixels in raster order.</summary>
    public static Tensor KnownMask(long knownPixels, int size) =>
        torch.arange((long)size * size).lt(knownPixels).reshape(1, 1, size, size);
}
