using System.Diagnostics;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Energy;
using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Workflows;

/// <summary>Sampling and inpainting of energy models by Langevin dynamics with a chosen number of steps.</summary>
public static class EnergyWorkflows
{
    /// <summary>The model as an EBM, or a one-line error naming the flags that need one.</summary>
    public static EbmModel AsEbm(IGenerativeModel model, string flags) => model as EbmModel
        ?? throw new GenSharpException($"{flags} apply to ebm checkpoints; this is a {model.Family} checkpoint");

    /// <summary>
    /// Draws <paramref name="n"/> samples by <paramref name="steps"/> Langevin steps (null = sample_steps) from uniform
    /// noise or from the replay buffer, seeded, and writes them to <paramref name="outPath"/> (PNG grid or .npy).
    /// Returns images per second.
    /// </summary>
    public static double Sample(IGenerativeModel model, string outPath, int n, long seed, int? steps, bool fromBuffer)
    {
        var ebm = AsEbm(model, "--steps/--init");
        if (n < 1 || n > 100_000) throw new GenSharpException($"--n must be in [1, 100000], got {n}");
        if (steps is < 0) throw new GenSharpException($"--steps must be ≥ 0, got {steps}");
        torch.manual_seed(seed);
        using var scope = torch.NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var images = ebm.Sample(n, steps ?? ((EbmConfig)ebm.Config).SampleSteps, fromBuffer);
        double perSecond = n / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        ImageWorkflows.SaveImages(images, outPath, (int)Math.Ceiling(Math.Sqrt(n)));
        return perSecond;
    }

    /// <summary>
    /// Inpaints each input image <paramref name="perImage"/> times by Langevin dynamics with the known pixels clamped
    /// (<paramref name="knownMask"/> (1 or B, 1, H, W), true = keep). Writes one row per input: the known part (unknown
    /// pixels mid-grey), the inpaintings, the original. Returns images per second.
    /// </summary>
    public static double Inpaint(IGenerativeModel model, Tensor images, Tensor knownMask, int perImage, string outPath, long seed, int? steps)
    {
        var inpainting = model as IClampedInpainting ?? throw new GenSharpException($"{model.Family} cannot inpaint by Langevin dynamics");
        var cfg = ImageFamilyConfig.Of(model);
        if (perImage < 1 || perImage > 64) throw new GenSharpException($"--n must be in [1, 64] inpaintings per image, got {perImage}");
        if (images.shape[0] > 64) throw new GenSharpException($"at most 64 images to inpaint at once, got {images.shape[0]}");
        if (images.shape[1] != cfg.ImageChannels || images.shape[2] != cfg.ImageSize || images.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"the model works on {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize} images, got ({string.Join("×", images.shape.Skip(1))})");
        if (knownMask.shape[0] != 1 && knownMask.shape[0] != images.shape[0])
            throw new GenSharpException($"--mask holds {knownMask.shape[0]} masks for {images.shape[0]} images; give one mask or one per image");
        if (steps is < 0) throw new GenSharpException($"--steps must be ≥ 0, got {steps}");

        using var gen = new Generator((ulong)seed);
        torch.manual_seed(seed);
        using var scope = torch.NewDisposeScope();
        long n = images.shape[0];
        var mask = knownMask.to(ScalarType.Bool).expand(n, 1, cfg.ImageSize, cfg.ImageSize);
        var repeated = images.repeat_interleave(perImage, 0);                              // (n·k, C, H, W), image-major
        var repeatedMask = mask.repeat_interleave(perImage, 0);
        var clock = Stopwatch.StartNew();
        var done = inpainting.Inpaint(repeated, repeatedMask, steps, gen)
            .reshape(n, perImage, cfg.ImageChannels, cfg.ImageSize, cfg.ImageSize);
        double perSecond = repeated.shape[0] / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var shown = torch.where(mask.cpu().expand_as(original), original, torch.full_like(original, 0.5));
        var rows = new List<Tensor>();
        for (long i = 0; i < n; i++)
            rows.Add(torch.cat(new[] { shown.narrow(0, i, 1), done[i], original.narrow(0, i, 1) }, 0));
        ImageWorkflows.SaveImages(torch.cat(rows, 0), outPath, perImage + 2);
        return perSecond;
    }
}
