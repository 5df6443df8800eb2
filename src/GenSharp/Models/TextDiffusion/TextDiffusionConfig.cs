using System.Text.Json.Serialization;
using GenSharp.Models.Clip;
using GenSharp.Models.Vae;
using GenSharp.Sampling;

namespace GenSharp.Models.TextDiffusion;

/// <summary>
/// Text-conditioned latent diffusion (Rombach et al. 2022, arXiv:2112.10752, §3.3): a denoiser of a frozen VAE's
/// scaled latents that cross-attends to a frozen CLIP text encoder's token states, trained on Fashion-MNIST images
/// with the captions <see cref="TextToImage.FashionCaptioner"/> writes for them, the caption dropped to the empty
/// prompt with probability prompt_dropout so that classifier-free guidance (Ho &amp; Salimans 2022) — and negative
/// prompts in place of the empty one — work at sampling time. The VAE (<c>latent_from</c>) and the CLIP
/// (<c>text_from</c>) are embedded in the checkpoint when training starts.
/// </summary>
public sealed record TextDiffusionConfig : ImageFamilyConfig
{
    /// <summary>Checkpoint of a trained <c>vae</c> whose latents to diffuse (required unless latent_vae is embedded).</summary>
    public string? LatentFrom { get; init; }
    /// <summary>The VAE's config, embedded when training starts (leave unset).</summary>
    public VaeConfig? LatentVae { get; init; }
    /// <summary>Checkpoint of a trained <c>clip</c> whose text encoder conditions the denoiser (required unless text_clip is embedded).</summary>
    public string? TextFrom { get; init; }
    /// <summary>The CLIP's config, embedded when training starts (leave unset).</summary>
    public ClipConfig? TextClip { get; init; }
    /// <summary>Width of the residual MLP denoiser.</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Residual blocks, each followed by a cross-attention to the prompt's token states.</summary>
    public int Blocks { get; init; } = 4;
    /// <summary>Query tokens the latent's hidden state is split into for cross-attention.</summary>
    public int QueryTokens { get; init; } = 4;
    /// <summary>Width of the attention (query, key and value per token).</summary>
    public int AttentionWidth { get; init; } = 64;
    /// <summary>Attention heads (attention_width must divide by it).</summary>
    public int AttentionHeads { get; init; } = 4;
    /// <summary>Sinusoidal time features (the time embedding is 4× as wide).</summary>
    public int TimeFeatures { get; init; } = 64;
    /// <summary>Dropout inside the residual blocks.</summary>
    public double Dropout { get; init; } = 0.0;
    /// <summary>Noise schedule β_t.</summary>
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Linear;
    /// <summary>Diffusion steps T of training.</summary>
    public int Timesteps { get; init; } = 1000;
    /// <summary>What the network predicts: ε or v.</summary>
    public PredictionType Prediction { get; init; } = PredictionType.Epsilon;
    /// <summary>Probability of training on the empty prompt instead of the caption (classifier-free guidance).</summary>
    public double PromptDropout { get; init; } = 0.1;
    /// <summary>Probability that the captioner says each attribute word that applies.</summary>
    public double MentionProbability { get; init; } = 0.75;
    /// <summary>Seed of the training captions' draws (per step).</summary>
    public long CaptionSeed { get; init; } = 0;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Gradient clipping: maximum global L2 norm; 0 = off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Default scheduler (one of ddpm, ddim, euler, euler-a, dpm++2m).</summary>
    public string Sampler { get; init; } = "dpm++2m";
    /// <summary>Default sampling steps.</summary>
    public int SamplerSteps { get; init; } = 20;
    /// <summary>Default classifier-free guidance scale (1 = plain conditional).</summary>
    public double SamplerGuidance { get; init; } = 3.0;

    /// <summary>Time-embedding width.</summary>
    [JsonIgnore] public int TimeEmbedDim => 4 * TimeFeatures;

    public override void Validate()
    {
        base.Validate();
        Require(LatentFrom is { Length: > 0 } || LatentVae is not null, "latent_from", "a trained vae checkpoint folder", LatentFrom ?? "null");
        Require(TextFrom is { Length: > 0 } || TextClip is not null, "text_from", "a trained clip checkpoint folder", TextFrom ?? "null");
        RequireIn(Hidden, "hidden", 8, 16384);
        RequireIn(Blocks, "blocks", 1, 32);
        RequireIn(QueryTokens, "query_tokens", 1, 64);
        RequireIn(AttentionWidth, "attention_width", 4, 4096);
        Require(AttentionHeads >= 1 && AttentionWidth % AttentionHeads == 0, "attention_heads", "a divisor of attention_width", AttentionHeads);
        Require(TimeFeatures is >= 4 and <= 4096 && TimeFeatures % 2 == 0, "time_features", "even, in [4, 4096]", TimeFeatures);
        Require(Dropout is >= 0 and < 1, "dropout", "in [0, 1)", Dropout);
        Require(Enum.IsDefined(Schedule), "schedule", "linear or cosine", Schedule);
        RequireIn(Timesteps, "timesteps", 2, 100_000);
        Require(Enum.IsDefined(Prediction), "prediction", "epsilon or v", Prediction);
        Require(PromptDropout is >= 0 and <= 1, "prompt_dropout", "in [0, 1]", PromptDropout);
        Require(MentionProbability is > 0 and <= 1, "mention_probability", "in (0, 1]", MentionProbability);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        Require(Schedulers.Names.Contains(Sampler), "sampler", string.Join(", ", Schedulers.Names), Sampler);
        Require(SamplerSteps >= 1 && SamplerSteps <= Timesteps, "sampler_steps", $"in [1, timesteps = {Timesteps}]", SamplerSteps);
        Require(SamplerGuidance >= 0 && double.IsFinite(SamplerGuidance), "sampler_guidance", "a finite number ≥ 0", SamplerGuidance);
        if (LatentVae is { } vae)
        {
            vae.Validate();
            Require(vae.ImageSize == ImageSize && vae.ImageChannels == ImageChannels, "latent_from",
                $"a vae trained on {ImageChannels}×{ImageSize}×{ImageSize} images like this data", $"a vae for {vae.ImageChannels}×{vae.ImageSize}×{vae.ImageSize}");
        }
        TextClip?.Validate();
    }
}
