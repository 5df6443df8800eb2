namespace GenSharp.Models;

/// <summary>
/// A model of short grey clips (T, 1, S, S): it draws class-conditional clips from noise, and completes clips of which
/// some frames are known (continuation from the first frames, interpolation between the first and last).
/// </summary>
public interface IVideoModel
{
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>Frames per clip.</summary>
    int Frames { get; }
    /// <summary>Side of each frame.</summary>
    int FrameSize { get; }
    /// <summary>Classes it is conditioned on.</summary>
    int NumClasses { get; }

    /// <summary>Draws clips; returns (Count, T, 1, S, S) float32 in [0, 1] on the CPU (known frames are copied through).</summary>
    Tensor Generate(VideoGenerationOptions options);

    /// <summary>The sampler <paramref name="options"/> resolve to, in words (e.g. "ddim 50 steps, guidance 2").</summary>
    string DescribeSampler(VideoGenerationOptions options);
}

/// <summary>How <see cref="IVideoModel.Generate"/> draws.</summary>
public sealed record VideoGenerationOptions
{
    /// <summary>Clips to draw.</summary>
    public int Count { get; init; } = 1;
    /// <summary>Class of each clip (Count of them); null cycles through the classes.</summary>
    public long[]? Labels { get; init; }
    /// <summary>Known frames (Count, T, 1, S, S) in [0, 1], read where <see cref="KnownFrames"/> is true; null = none.</summary>
    public Tensor? Known { get; init; }
    /// <summary>Which of the T frames are known (T flags); null = none (plain generation).</summary>
    public bool[]? KnownFrames { get; init; }
    /// <summary>Scheduler name (ddpm, ddim, euler, euler-a, dpm++2m); null = the model's default.</summary>
    public string? Scheduler { get; init; }
    /// <summary>Sampling steps; null = the model's default.</summary>
    public int? Steps { get; init; }
    /// <summary>DDIM's η (0 = deterministic).</summary>
    public double Eta { get; init; }
    /// <summary>Classifier-free guidance scale (0 = unconditional, 1 = conditional); null = the model's default.</summary>
    public double? GuidanceScale { get; init; }
    /// <summary>
    /// An ablation, for measuring the sampler's known-frame handling: let the scheduler carry the known frames' x_t
    /// along like the others (driven by the network's output there, which training never scores) instead of redrawing
    /// them from q(x_t | known) before every step. False (the default) is the sampler to use.
    /// </summary>
    public bool CarryKnownFrames { get; init; }
    /// <summary>Seeds the draws (a generator of its own: the global RNG is untouched).</summary>
    public long Seed { get; init; }
    /// <summary>Called after each denoising step with the number done; may be null.</summary>
    public Action<int>? Progress { get; init; }
}
