using System.Text.Json.Serialization;
using GenSharp.Sampling;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// Denoising diffusion probabilistic model (Ho et al. 2020, "Denoising Diffusion Probabilistic Models",
/// arXiv:2006.11239) with a UNet noise predictor, optionally class-conditional with classifier-free
/// guidance (Ho &amp; Salimans 2022, arXiv:2207.12598), or latent diffusion on a trained VAE's latents
/// (Rombach et al. 2022, arXiv:2112.10752) when <see cref="LatentFrom"/> is set.
/// The defaults (1,112,801 parameters, 28 → 14 → 7 with attention at 7×7, one residual block per level) are
/// sized for CPU training at batch 64; the step time on an idle 2-core machine is still to be measured.
/// </summary>
public sealed record DdpmConfig : ImageFamilyConfig
{
    /// <summary>Channels of the first UNet level (and width of the sinusoidal time features).</summary>
    public int BaseChannels { get; init; } = 32;
    /// <summary>Channel multiplier per resolution level; each level after the first halves the resolution.</summary>
    public int[] ChannelMult { get; init; } = { 1, 2, 2 };
    /// <summary>Residual blocks per level on the way down (the way up has one more, for the extra skip).</summary>
    public int ResBlocks { get; init; } = 1;
    /// <summary>Resolutions (side lengths) at which a self-attention block follows each residual block.</summary>
    public int[] AttentionResolutions { get; init; } = { 7 };
    /// <summary>Heads of each self-attention block (the width must divide by it).</summary>
    public int AttentionHeads { get; init; } = 4;
    /// <summary>Groups of every GroupNorm (every width must divide by it).</summary>
    public int NormGroups { get; init; } = 8;
    /// <summary>Dropout inside the residual blocks (0.1 in the paper's CIFAR-10 model; off for short CPU runs).</summary>
    public double Dropout { get; init; } = 0.0;
    /// <summary>Width of the time (and class) embedding fed to every residual block; 0 = 4 × base_channels.</summary>
    public int TimeEmbedDim { get; init; } = 0;
    /// <summary>Noise schedule β_t: linear (Ho et al.) or cosine (Nichol &amp; Dhariwal 2021).</summary>
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Linear;
    /// <summary>Diffusion steps T of training.</summary>
    public int Timesteps { get; init; } = 1000;
    /// <summary>What the network predicts: the noise ε or the velocity v = √ᾱ ε − √(1−ᾱ) x₀.</summary>
    public PredictionType Prediction { get; init; } = PredictionType.Epsilon;
    /// <summary>Condition on the class label (with a "no class" row for classifier-free guidance).</summary>
    public bool Conditional { get; init; } = false;
    /// <summary>Probability of replacing a training label by the "no class" label (classifier-free guidance).</summary>
    public double LabelDropout { get; init; } = 0.1;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Gradient clipping: maximum global L2 norm; 0 = off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Scheduler used by the trainer's sample grids and <c>Sample(n, labels)</c>: ddpm, ddim, euler, euler-a or dpm++2m.</summary>
    public string Sampler { get; init; } = "ddim";
    /// <summary>Steps of that scheduler (ddim 50 keeps periodic grids cheap).</summary>
    public int SamplerSteps { get; init; } = 50;
    /// <summary>Guidance scale of those samples when conditional (1 = plain conditional).</summary>
    public double SamplerGuidance { get; init; } = 1.0;
    /// <summary>Checkpoint of a trained <c>vae</c> whose latents to diffuse (latent diffusion); null = pixel space.</summary>
    public string? LatentFrom { get; init; }

    /// <summary>
    /// The latent VAE's config, embedded so the checkpoint is self-contained; filled in from
    /// <see cref="LatentFrom"/> when training starts (leave unset).
    /// </summary>
    public GenSharp.Models.Vae.VaeConfig? LatentVae { get; init; }
    /// <summary>Latent diffusion: width of the residual MLP denoiser.</summary>
    public int LatentHidden { get; init; } = 512;
    /// <summary>Latent diffusion: residual MLP blocks.</summary>
    public int LatentBlocks { get; init; } = 4;

    /// <summary>True when diffusing a VAE's latents instead of pixels.</summary>
    [JsonIgnore] public bool IsLatent => LatentFrom is not null || LatentVae is not null;

    /// <summary>Time-embedding width actually used.</summary>
    [JsonIgnore] public int EffectiveTimeEmbedDim => TimeEmbedDim > 0 ? TimeEmbedDim : 4 * BaseChannels;

    /// <summary>Value equality, including the list fields (a record would compare the arrays by reference).</summary>
    public bool Equals(DdpmConfig? other) =>
        other is not null && ConfigJson.ToJson(this).ToJsonString() == ConfigJson.ToJson(other).ToJsonString();

    public override int GetHashCode() => ConfigJson.ToJson(this).ToJsonString().GetHashCode(StringComparison.Ordinal);

    public override void Validate()
    {
        base.Validate();
        Require(BaseChannels is >= 4 and <= 1024 && BaseChannels % 2 == 0, "base_channels", "even, in [4, 1024]", BaseChannels);
        Require(ChannelMult is { Length: >= 1 and <= 6 } && ChannelMult.All(m => m is >= 1 and <= 16),
            "channel_mult", "a list of 1 to 6 multipliers in [1, 16], e.g. [1,2,2]", ChannelMult is null ? "null" : $"[{string.Join(",", ChannelMult)}]");
        int down = 1 << (ChannelMult!.Length - 1);
        Require(ImageSize % down == 0, "channel_mult",
            $"short enough that image_size {ImageSize} divides by 2^(levels−1) = {down}", $"[{string.Join(",", ChannelMult)}]");
        RequireIn(ResBlocks, "res_blocks", 1, 4);
        Require(AttentionResolutions is not null && AttentionResolutions.All(r => r >= 1), "attention_resolutions",
            "a list of side lengths ≥ 1 (may be empty)", AttentionResolutions is null ? "null" : "");
        Require(NormGroups >= 1 && BaseChannels * ChannelMult.Min() % NormGroups == 0 && ChannelMult.All(m => BaseChannels * m % NormGroups == 0),
            "norm_groups", "a divisor of every level's width (base_channels × channel_mult)", NormGroups);
        Require(AttentionHeads >= 1 && ChannelMult.All(m => BaseChannels * m % AttentionHeads == 0),
            "attention_heads", "a divisor of every level's width", AttentionHeads);
        Require(Dropout is >= 0 and < 1, "dropout", "in [0, 1)", Dropout);
        Require(TimeEmbedDim is >= 0 and <= 8192, "time_embed_dim", "in [0, 8192] (0 = 4 × base_channels)", TimeEmbedDim);
        Require(Enum.IsDefined(Schedule), "schedule", "linear or cosine", Schedule);
        RequireIn(Timesteps, "timesteps", 2, 100_000);
        Require(Enum.IsDefined(Prediction), "prediction", "epsilon or v", Prediction);
        Require(!Conditional || NumClasses >= 2, "num_classes", "≥ 2 for a conditional model", NumClasses);
        Require(LabelDropout is >= 0 and <= 1, "label_dropout", "in [0, 1]", LabelDropout);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        Require(Schedulers.Names.Contains(Sampler), "sampler", string.Join(", ", Schedulers.Names), Sampler);
        Require(SamplerSteps >= 1 && SamplerSteps <= Timesteps, "sampler_steps", $"in [1, timesteps = {Timesteps}]", SamplerSteps);
        Require(SamplerGuidance >= 0 && double.IsFinite(SamplerGuidance), "sampler_guidance", "a finite number ≥ 0", SamplerGuidance);
        Require(LatentFrom is null || LatentFrom.Length > 0, "latent_from", "a vae checkpoint folder or null", "\"\"");
        RequireIn(LatentHidden, "latent_hidden", 8, 16384);
        RequireIn(LatentBlocks, "latent_blocks", 1, 32);
        if (LatentVae is { } vae)
        {
            vae.Validate();
            Require(vae.ImageSize == ImageSize && vae.ImageChannels == ImageChannels, "latent_from",
                $"a vae trained on {ImageChannels}×{ImageSize}×{ImageSize} images like this data", $"a vae for {vae.ImageChannels}×{vae.ImageSize}×{vae.ImageSize}");
        }
    }
}
