namespace GenSharp.Models.Clip;

/// <summary>
/// A small CLIP (Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision",
/// arXiv:2103.00020): a causal text transformer and a convolutional image encoder trained with the symmetric
/// contrastive loss on Fashion-MNIST images and the captions <see cref="TextToImage.FashionCaptioner"/> writes for
/// them on the fly. It is the text encoder of text-conditioned diffusion and the judge of prompt alignment.
/// </summary>
public sealed record ClipConfig : ImageFamilyConfig
{
    /// <summary>Width of the shared image–text embedding space.</summary>
    public int EmbedDim { get; init; } = 64;
    /// <summary>Width of the text transformer (its token states are what diffusion cross-attends to).</summary>
    public int TextWidth { get; init; } = 64;
    /// <summary>Transformer blocks of the text encoder.</summary>
    public int TextLayers { get; init; } = 2;
    /// <summary>Attention heads of each text block (text_width must divide by it).</summary>
    public int TextHeads { get; init; } = 4;
    /// <summary>Tokens per prompt including the start and end tokens; longer prompts are cut.</summary>
    public int ContextLength { get; init; } = 16;
    /// <summary>Channels of the image encoder's first convolution (then ×2 and ×4 at 14×14 and 7×7).</summary>
    public int ImageWidth { get; init; } = 32;
    /// <summary>Groups of the image encoder's GroupNorms.</summary>
    public int NormGroups { get; init; } = 8;
    /// <summary>Initial temperature τ of the logits (logit scale = 1/τ, learned, capped at 100).</summary>
    public double InitTemperature { get; init; } = 0.07;
    /// <summary>AdamW learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>AdamW weight decay.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>Probability that the captioner says each attribute word that applies to a training image.</summary>
    public double MentionProbability { get; init; } = 0.75;
    /// <summary>Seed of the training captions' phrasing and word draws (per step).</summary>
    public long CaptionSeed { get; init; } = 0;

    public override void Validate()
    {
        base.Validate();
        Require(ImageChannels == 1, "image_channels", "1 (the captioner measures grey-scale garments)", ImageChannels);
        Require(NumClasses == TextToImage.FashionCaptioner.Nouns.Count, "num_classes",
            $"{TextToImage.FashionCaptioner.Nouns.Count} (the Fashion-MNIST classes the captioner names)", NumClasses);
        Require(ImageSize % 4 == 0, "image_size", "a multiple of 4", ImageSize);
        RequireIn(EmbedDim, "embed_dim", 2, 4096);
        RequireIn(TextWidth, "text_width", 4, 4096);
        RequireIn(TextLayers, "text_layers", 1, 24);
        Require(TextHeads >= 1 && TextWidth % TextHeads == 0, "text_heads", "a divisor of text_width", TextHeads);
        RequireIn(ContextLength, "context_length", 3, 256);
        RequireIn(ImageWidth, "image_width", 4, 1024);
        Require(NormGroups >= 1 && ImageWidth % NormGroups == 0, "norm_groups", "a divisor of image_width", NormGroups);
        Require(InitTemperature is > 0.01 and <= 1, "init_temperature", "in (0.01, 1]", InitTemperature);
        RequireLearningRate(LearningRate);
        Require(WeightDecay is >= 0 and < 1, "weight_decay", "in [0, 1)", WeightDecay);
        Require(MentionProbability is > 0 and <= 1, "mention_probability", "in (0, 1]", MentionProbability);
    }
}
