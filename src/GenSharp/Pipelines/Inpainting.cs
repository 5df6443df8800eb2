using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>How to inpaint a set of images.</summary>
public sealed record InpaintingOptions
{
    /// <summary>Inpaintings drawn for each input image.</summary>
    public int PerImage { get; init; } = 4;
    /// <summary>Seeds torch's global generator and the sampler's own generator.</summary>
    public long Seed { get; init; }
    /// <summary>Class to inpaint towards (conditional models); null = no class.</summary>
    public int? Class { get; init; }
    /// <summary>The sampler's options; null = the model's defaults.</summary>
    public SamplerOptions? Sampler { get; init; }
}

/// <summary>Fills the unknown region of images with any <see cref="IImageInpainter"/> (diffusion with RePaint, clamped Langevin).</summary>
public static class Inpainting
{
    /// <summary>Most input images one call takes.</summary>
    public const int MaxImages = 64;

    /// <summary>
    /// Inpaints raw uint8 <paramref name="images"/> (B, C, H, W): pixels where <paramref name="knownMask"/> ((1 or B, 1, H, W)
    /// bool) is true are kept, the rest drawn, <see cref="InpaintingOptions.PerImage"/> times per image.
    /// </summary>
    public static FilledImages Run(IImageInpainter model, Tensor images, Tensor knownMask, InpaintingOptions options)
    {
        var cfg = ImageFamilyConfig.Of(model);
        if (options.PerImage < 1 || options.PerImage > 64) throw new ParameterException("per_image", $"must be in [1, 64] inpaintings per image, got {options.PerImage}");
        if (images.shape[0] > MaxImages) throw new ParameterException("images", $"takes at most {MaxImages} images at once, got {images.shape[0]}");
        CheckImages(images, cfg);
        if (knownMask.dim() != 4 || (knownMask.shape[0] != 1 && knownMask.shape[0] != images.shape[0]))
            throw new ParameterException("mask", $"holds {knownMask.shape[0]} masks for {images.shape[0]} images; give one mask or one per image");
        ImageSampling.CheckClass(options.Class, model.ConditionalClasses);
        var sampler = options.Sampler ?? model.DefaultSamplerOptions;
        sampler.Validate();

        torch.manual_seed(options.Seed);
        using var gen = new Generator((ulong)options.Seed);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        int k = options.PerImage;
        var mask = knownMask.to(ScalarType.Bool).cpu().expand(n, 1, cfg.ImageSize, cfg.ImageSize);
        var repeated = images.repeat_interleave(k, 0);                                   // (n·k, C, H, W), image-major
        var repeatedMask = mask.repeat_interleave(k, 0);
        Tensor? labels = options.Class is { } cls ? torch.full(repeated.shape[0], cls, dtype: ScalarType.Int64) : null;
        var clock = Stopwatch.StartNew();
        var done = model.Inpaint(repeated, repeatedMask, labels, sampler, gen).reshape(n, k, cfg.ImageChannels, cfg.ImageSize, cfg.ImageSize);
        double perSecond = repeated.shape[0] / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var shown = torch.where(mask.expand_as(original), original, torch.full_like(original, 0.5));
        return new FilledImages(done.MoveToOuterDisposeScope(), shown.MoveToOuterDisposeScope(), original.MoveToOuterDisposeScope(),
            model.DescribeSampler(sampler), perSecond);
    }

    /// <summary>Rejects images whose shape is not the model's.</summary>
    public static void CheckImages(Tensor images, ImageFamilyConfig cfg)
    {
        if (images.dim() != 4 || images.shape[1] != cfg.ImageChannels || images.shape[2] != cfg.ImageSize || images.shape[3] != cfg.ImageSize)
            throw new ParameterException("images", $"must be {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize} like the model's, got ({string.Join("×", images.shape.Skip(1))})");
    }
}
