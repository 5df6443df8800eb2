namespace GenSharp.Models.StableDiffusion;

/// <summary>What to draw with a <see cref="StableDiffusionPipeline"/>.</summary>
public sealed record StableDiffusionOptions
{
    /// <summary>The prompt (the same for every image).</summary>
    public string Prompt { get; init; } = "";
    /// <summary>Guidance pushes away from this prompt (the empty prompt by default, as in classifier-free guidance).</summary>
    public string NegativePrompt { get; init; } = "";
    /// <summary>Images to draw.</summary>
    public int Count { get; init; } = 1;
    /// <summary>Image width in pixels; default the UNet's sample_size × 8. Must be a multiple of 8·2^(blocks−1).</summary>
    public int? Width { get; init; }
    /// <summary>Image height in pixels; default as <see cref="Width"/>.</summary>
    public int? Height { get; init; }
    /// <summary>Network evaluations (per guidance branch).</summary>
    public int Steps { get; init; } = 25;
    /// <summary>Classifier-free guidance scale w (Ho &amp; Salimans 2022): ε̂ = ε(neg) + w·(ε(prompt) − ε(neg)); 1 = no guidance (one pass per step).</summary>
    public double GuidanceScale { get; init; } = 7.5;
    /// <summary>One of <see cref="Sampling.Schedulers.Names"/>.</summary>
    public string Scheduler { get; init; } = "dpm++2m";
    /// <summary>Image-to-image (SDEdit, Meng et al. 2022): the start images (N, 3, H, W) in [0, 1]; one per image or one for all.</summary>
    public Tensor? Init { get; init; }
    /// <summary>With <see cref="Init"/>: how far up the chain the init is noised (0 = returned as is, 1 = ignored).</summary>
    public double Strength { get; init; } = 0.75;
    /// <summary>Inpainting: (N or 1, 1, H, W), 1 where the image is redrawn, 0 where <see cref="Init"/> is kept.</summary>
    public Tensor? Mask { get; init; }
    /// <summary>Decode the latents in tiles of this many latent cells per side (0 = whole image at once).</summary>
    public int VaeTile { get; init; }
    /// <summary>Latent cells the decoded tiles overlap by (blended linearly).</summary>
    public int VaeTileOverlap { get; init; } = 8;
    /// <summary>Seed of the initial noise and of the stochastic schedulers.</summary>
    public long Seed { get; init; }
    /// <summary>Replaces the seeded initial latent noise (N, 4, h, w) when set (e.g. a watermarked draw).</summary>
    public Tensor? InitialNoise { get; init; }
}
