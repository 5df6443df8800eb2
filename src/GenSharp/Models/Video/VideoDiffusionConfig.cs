using System.Text.Json.Serialization;
using GenSharp.Data;
using GenSharp.Sampling;

namespace GenSharp.Models.Video;

/// <summary>
/// Class-conditional video diffusion on Moving Fashion-MNIST clips: a factorised space-time UNet (2D residual blocks on
/// every frame, self-attention across the frames at every spatial position; Ho et al. 2022, "Video Diffusion Models",
/// arXiv:2204.03458 §3) trained with the ε-loss of DDPM and classifier-free guidance, and with masked-frame
/// conditioning (Voleti et al. 2022, MCVD, arXiv:2205.09853): some training clips show the network a few clean frames
/// (the first k, or the first and the last), so the same model generates, continues and interpolates clips. The
/// defaults are 8 frames of 32×32 and widths 32-64-64; frame_size 64 with frames 16 is the full data set. What worked
/// on 2 CPU cores (docs/video.md): prediction v, base_channels 24, ~7,000 steps of batch 8 in two hours.
/// </summary>
public sealed record VideoDiffusionConfig : FamilyConfig
{
    /// <summary>Frames per clip.</summary>
    public int Frames { get; init; } = 8;
    /// <summary>Side of each frame: 32 or 64.</summary>
    public int FrameSize { get; init; } = 32;
    /// <summary>Garments per training clip (1 or 2; the class label is the first garment's).</summary>
    public int Garments { get; init; } = 1;
    /// <summary>Garment speed in 64×64 canvas pixels per frame.</summary>
    public double Speed { get; init; } = 3.0;
    /// <summary>Garment classes (10 for Fashion-MNIST); a further "no class" row serves guidance.</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>Channels of the first UNet level.</summary>
    public int BaseChannels { get; init; } = 32;
    /// <summary>Channel multiplier per level; each level after the first halves the resolution.</summary>
    public int[] ChannelMult { get; init; } = { 1, 2, 2 };
    /// <summary>Heads of each temporal attention block (every width must divide by it).</summary>
    public int AttentionHeads { get; init; } = 4;
    /// <summary>Groups of every GroupNorm.</summary>
    public int NormGroups { get; init; } = 8;

    /// <summary>Noise schedule β_t.</summary>
    public BetaSchedule Schedule { get; init; } = BetaSchedule.Cosine;
    /// <summary>Diffusion steps T of training.</summary>
    public int Timesteps { get; init; } = 1000;
    /// <summary>
    /// What the network predicts: the noise ε (Ho et al. 2020) or the velocity v = √ᾱ ε − √(1−ᾱ) x₀ (Salimans &amp; Ho
    /// 2022), whose loss weights the high-noise steps that set a clip's layout and brightness more than ε's does.
    /// </summary>
    public PredictionType Prediction { get; init; } = PredictionType.Epsilon;
    /// <summary>Probability of training with the label replaced by "no class" (classifier-free guidance).</summary>
    public double LabelDropout { get; init; } = 0.1;
    /// <summary>Probability that a training clip shows its first k frames clean (k uniform in 1…frames−1): prediction.</summary>
    public double PredictProbability { get; init; } = 0.4;
    /// <summary>Probability that a training clip shows its first and last frames clean: interpolation.</summary>
    public double InterpolateProbability { get; init; } = 0.2;

    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 5e-4;
    /// <summary>Gradient clipping: maximum global L2 norm; 0 = off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Default scheduler of sampling: ddpm, ddim, euler, euler-a or dpm++2m.</summary>
    public string Sampler { get; init; } = "ddim";
    /// <summary>Default steps of that scheduler.</summary>
    public int SamplerSteps { get; init; } = 50;
    /// <summary>Default classifier-free guidance scale (1 = plain conditional, 0 = unconditional).</summary>
    public double SamplerGuidance { get; init; } = 2.0;

    /// <summary>The data geometry these settings describe.</summary>
    [JsonIgnore]
    public MovingFashionMnistOptions Data => new() { Frames = Frames, FrameSize = FrameSize, Garments = Garments, Speed = Speed };

    /// <summary>Width of the time and class embedding.</summary>
    [JsonIgnore] public int EmbedDim => 4 * BaseChannels;

    /// <summary>Value equality, including the list field.</summary>
    public bool Equals(VideoDiffusionConfig? other) =>
        other is not null && ConfigJson.ToJson(this).ToJsonString() == ConfigJson.ToJson(other).ToJsonString();

    public override int GetHashCode() => ConfigJson.ToJson(this).ToJsonString().GetHashCode(StringComparison.Ordinal);

    public override void Validate()
    {
        base.Validate();
        RequireIn(Frames, "frames", 2, 64);
        Require(FrameSize is 32 or 64, "frame_size", "32 or 64", FrameSize);
        RequireIn(Garments, "garments", 1, 2);
        Require(Speed > 0 && Speed <= 8, "speed", "in (0, 8]", Speed);
        RequireIn(NumClasses, "num_classes", 1, 1000);
        Require(BaseChannels is >= 8 and <= 512 && BaseChannels % 2 == 0, "base_channels", "even, in [8, 512]", BaseChannels);
        Require(ChannelMult is { Length: >= 1 and <= 4 } && ChannelMult.All(m => m is >= 1 and <= 8), "channel_mult",
            "1 to 4 multipliers, each in [1, 8]", ChannelMult is null ? "null" : $"[{string.Join(", ", ChannelMult)}]");
        Require(FrameSize % (1 << (ChannelMult!.Length - 1)) == 0, "channel_mult", $"at most as many levels as halvings of frame_size {FrameSize}", ChannelMult.Length);
        Require(AttentionHeads >= 1 && ChannelMult.All(m => BaseChannels * m % AttentionHeads == 0), "attention_heads",
            "a divisor of every level width", AttentionHeads);
        Require(NormGroups >= 1 && ChannelMult.All(m => BaseChannels * m % NormGroups == 0) && BaseChannels % NormGroups == 0,
            "norm_groups", "a divisor of every level width", NormGroups);
        Require(Enum.IsDefined(Schedule), "schedule", "linear or cosine", Schedule);
        RequireIn(Timesteps, "timesteps", 2, 10_000);
        Require(Enum.IsDefined(Prediction), "prediction", "epsilon or v", Prediction);
        Require(LabelDropout is >= 0 and < 1, "label_dropout", "in [0, 1)", LabelDropout);
        Require(PredictProbability is >= 0 and <= 1, "predict_probability", "in [0, 1]", PredictProbability);
        Require(InterpolateProbability is >= 0 and <= 1 && PredictProbability + InterpolateProbability <= 1,
            "interpolate_probability", $"in [0, 1 − predict_probability]", InterpolateProbability);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        Require(Schedulers.Names.Contains(Sampler), "sampler", string.Join(", ", Schedulers.Names), Sampler);
        RequireIn(SamplerSteps, "sampler_steps", 1, Timesteps);
        Require(SamplerGuidance >= 0 && double.IsFinite(SamplerGuidance), "sampler_guidance", "a finite number ≥ 0", SamplerGuidance);
    }
}
