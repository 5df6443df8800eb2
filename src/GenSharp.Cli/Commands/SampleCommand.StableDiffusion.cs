using System.Diagnostics;
using System.Globalization;
using GenSharp.Media;
using GenSharp.Models.StableDiffusion;
using GenSharp.Pipelines;
using TorchSharp;

namespace GenSharp.Cli.Commands;

/// <summary><c>gensharp sample SD_FOLDER --prompt ...</c>: text-to-image, image-to-image and inpainting with a diffusers folder.</summary>
public sealed partial class SampleCommand
{
    /// <summary>The family name Stable Diffusion images are recorded under (provenance, messages).</summary>
    public const string StableDiffusionFamily = "stable-diffusion";

    static int SampleStableDiffusion(SampleSettings s)
    {
        var outPath = CliInputs.Output(s.Out, "sample", ".png", ".npy");
        var stray = new (string Flag, bool Given)[]
        {
            ("--class", s.Class is not null), ("--temperature", s.Temperature is not null), ("--complete", s.Complete is not null),
            ("--rows", s.Rows is not null), ("--known-pixels", s.KnownPixels is not null), ("--inpaint", s.Inpaint is not null),
            ("--strip", s.Strip is not null), ("--gif", s.Gif is not null), ("--eta", s.Eta is not null), ("--resample", s.Resample is not null),
            ("--jump", s.Jump is not null), ("--data", s.Data is not null), ("--melody", s.Melody is not null), ("--prime", s.Prime is not null),
            ("--no-render", s.NoRender), ("--seconds", s.Seconds is not null), ("--condition", s.Condition is not null), ("--naive", s.Naive), ("--prompt-to", s.PromptTo is not null),
        }.Where(f => f.Given).Select(f => f.Flag).ToList();
        if (stray.Count > 0)
            throw new GenSharpException($"{string.Join("/", stray)} {(stray.Count == 1 ? "does" : "do")} not apply to a Stable Diffusion folder; it takes --prompt, --negative-prompt, --steps, " +
                "--guidance-scale, --scheduler, --seed, -n, --width, --height, --init IMAGE [--strength S | --mask MASK], --vae-tile");
        if (s.Prompt is null) throw new UsageException("a Stable Diffusion folder draws what --prompt says: gensharp sample DIR --prompt \"...\" --out FILE.png");
        if (s.Mask is not null && s.Init is null) throw new GenSharpException("--mask goes with --init IMAGE (the image to inpaint)");
        if (s.Mask is not null && s.Strength is not null) throw new GenSharpException("give --mask (inpainting) or --strength (image-to-image), not both");
        if (s.Strength is not null && s.Init is null) throw new GenSharpException("--strength goes with --init IMAGE (image-to-image)");
        if (s.VaeTile is < 0) throw new GenSharpException($"--vae-tile must be ≥ 0, got {s.VaeTile}");
        if (s.Steps is < 1 or > 1000) throw new GenSharpException($"--steps must be in [1, 1000], got {s.Steps}");
        int n = s.N ?? 1;
        if (n < 1) throw new GenSharpException($"-n must be ≥ 1, got {n}");

        GenSharpCli.Prepare(s);
        var clock = Stopwatch.StartNew();
        using var sd = StableDiffusionPipeline.Load(s.Checkpoint, s.TorchDevice);
        double loadSeconds = clock.Elapsed.TotalSeconds;

        using var scope = torch.NewDisposeScope();
        torch.Tensor? init = null, redraw = null;
        if (s.Init is { } initPath)
        {
            init = ImageInput.LoadWhole(initPath, 3).narrow(0, 0, 1).to(torch.ScalarType.Float32) / 255;           // (1, 3, H, W) in [0, 1]
            int h = (int)init.shape[2], w = (int)init.shape[3];
            if ((s.Width ?? w) != w || (s.Height ?? h) != h)
                throw new GenSharpException($"--init {initPath} is {w}×{h} pixels but --width/--height ask for {s.Width ?? w}×{s.Height ?? h}: give an image of the output size");
            // GenSharp masks mark the known pixels (white = keep); the pipeline's mask marks the pixels to redraw.
            if (s.Mask is { } maskSpec) redraw = InpaintMasks.FromSpec(maskSpec, h, w, s.Seed).logical_not().to(torch.ScalarType.Float32);
        }
        var options = new StableDiffusionOptions
        {
            Prompt = s.Prompt, NegativePrompt = s.NegativePrompt ?? "", Count = n, Width = s.Width, Height = s.Height,
            Steps = s.Steps ?? new StableDiffusionOptions().Steps, GuidanceScale = s.GuidanceScale ?? new StableDiffusionOptions().GuidanceScale,
            Scheduler = s.Scheduler ?? new StableDiffusionOptions().Scheduler, Init = init, Mask = redraw,
            Strength = s.Strength ?? new StableDiffusionOptions().Strength, VaeTile = s.VaeTile ?? 0, Seed = s.Seed,
        };
        using var output = ImageOutput.For(StableDiffusionFamily, s.Checkpoint, s.NoWatermark, s.WatermarkKey, s.NoProvenance);
        // Text-to-image with a deterministic solver carries a Tree-Ring mark in the initial latent noise (Wen et al. 2023).
        bool treeRing = false;
        if (output.Key is { } key && !s.NoTreeRing) (options, treeRing) = Watermarking.StableDiffusionTreeRing.Apply(sd, options, key);
        bool live = !Console.IsErrorRedirected;
        int stepsRun = 0;
        double start = clock.Elapsed.TotalSeconds, lastStep = start;
        var images = sd.Generate(options, (i, total) =>
        {
            lastStep = clock.Elapsed.TotalSeconds;
            stepsRun = i;
            if (live) Console.Error.Write($"\rstep {i}/{total}, {(lastStep - start) / i:F2} s/step ");
        });
        double end = clock.Elapsed.TotalSeconds;
        if (live) Console.Error.WriteLine();

        var settings = ImageOutput.Settings(s.Seed, n, new Dictionary<string, object?>
        {
            ["prompt"] = options.Prompt, ["negative_prompt"] = options.NegativePrompt, ["scheduler"] = options.Scheduler, ["steps"] = options.Steps,
            ["guidance_scale"] = options.GuidanceScale, ["width"] = images.shape[3], ["height"] = images.shape[2],
            ["init"] = s.Init, ["strength"] = s.Init is not null && s.Mask is null ? options.Strength : null, ["mask"] = s.Mask,
            ["vae_tile"] = options.VaeTile > 0 ? options.VaeTile : null,
        });
        output.Save(images, outPath, columns: null, settings, treeRing, scale: 1);
        string what = s.Mask is not null ? "inpainted" : s.Init is not null ? $"image-to-image, strength {options.Strength.ToString(CultureInfo.InvariantCulture)}" : "text-to-image";
        Console.WriteLine($"wrote {outPath} ({n} × {images.shape[3]}×{images.shape[2]}, {what}, {options.Scheduler} {stepsRun} steps, guidance {options.GuidanceScale.ToString(CultureInfo.InvariantCulture)}" +
            (options.VaeTile > 0 ? $", VAE tiles of {options.VaeTile} cells" : "") +
            $"); load {loadSeconds:F1} s, denoising {lastStep - start:F1} s ({(lastStep - start) / Math.Max(1, stepsRun):F2} s/step), VAE decode {end - lastStep:F1} s");
        Console.WriteLine(Marks(output, treeRing, s.NoProvenance, outPath));
        return 0;
    }
}
