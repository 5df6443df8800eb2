namespace GenSharp.Models.Flows;

/// <summary>
/// Glow (Kingma &amp; Dhariwal 2018): multi-scale flow of ActNorm → invertible 1×1 conv → affine
/// coupling steps, with learned priors on the factored-out and top latents.
/// </summary>
public sealed record GlowConfig : ImageFamilyConfig
{
    /// <summary>L, the number of scales; each squeezes 2×2, so image_size must be divisible by 2^L.</summary>
    public int Levels { get; init; } = 2;
    /// <summary>K, flow steps per level.</summary>
    public int StepsPerLevel { get; init; } = 8;
    /// <summary>Width of every coupling network.</summary>
    public int HiddenChannels { get; init; } = 64;
    /// <summary>LU-parameterised 1×1 convolutions (O(C) log-det) instead of a plain C×C weight.</summary>
    public bool LuDecomposed { get; init; } = true;
    /// <summary>Adam learning rate (after warm-up).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Gradient-norm clipping threshold; 0 turns clipping off.</summary>
    public double GradClip { get; init; } = 50;
    /// <summary>Steps of linear learning-rate warm-up from 0; 0 = none.</summary>
    public int WarmupSteps { get; init; } = 50;

    public override void Validate()
    {
        base.Validate();
        RequireIn(Levels, "levels", 1, 6);
        Require(ImageSize % (1 << Levels) == 0, "image_size", $"divisible by 2^levels = {1 << Levels}", ImageSize);
        RequireIn(StepsPerLevel, "steps_per_level", 1, 64);
        RequireIn(HiddenChannels, "hidden_channels", 1, 2048);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        RequireIn(WarmupSteps, "warmup_steps", 0, 1_000_000);
    }
}
