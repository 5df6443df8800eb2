namespace GenSharp.Models.Classifier;

/// <summary>
/// Small CNN that classifies images into the data's classes. It is the domain feature extractor of the
/// evaluation suite (FD-cls, KID, precision/recall work on its <see cref="FeatureDim"/>-wide penultimate
/// layer), not a generative model: its family cannot sample.
/// </summary>
public sealed record ClassifierConfig : ImageFamilyConfig
{
    /// <summary>Channels of the first two 3×3 convolutions; the second pair has twice as many.</summary>
    public int Channels { get; init; } = 32;
    /// <summary>3×3 convolutions per resolution stage (two stages, each ending in a 2×2 max-pool).</summary>
    public int ConvsPerStage { get; init; } = 2;
    /// <summary>Width of the penultimate fully connected layer: the feature space of the sample-quality metrics.</summary>
    public int FeatureDim { get; init; } = 128;
    /// <summary>Dropout probability between the feature layer and the class logits.</summary>
    public double Dropout { get; init; } = 0.3;
    /// <summary>Batch normalisation after every convolution and after the feature layer.</summary>
    public bool BatchNorm { get; init; } = true;
    /// <summary>Random left-right flips of training images (clothes keep their class when mirrored).</summary>
    public bool Augment { get; init; } = true;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>
    /// Cosine learning-rate decay (Loshchilov &amp; Hutter 2017, SGDR, eq. 5 without restarts) from
    /// learning_rate down to 1% of it over this many steps, then held; 0 = constant learning rate.
    /// Set it to the run's total steps (epochs × 60000 / batch size for full Fashion-MNIST).
    /// </summary>
    public long DecaySteps { get; init; } = 0;
    /// <summary>Decoupled weight decay (AdamW); 0 = plain Adam.</summary>
    public double WeightDecay { get; init; } = 0;

    public override void Validate()
    {
        base.Validate();
        Require(NumClasses >= 2, "num_classes", "≥ 2 for a classifier", NumClasses);
        RequireIn(Channels, "channels", 1, 1024);
        RequireIn(ConvsPerStage, "convs_per_stage", 1, 4);
        RequireIn(FeatureDim, "feature_dim", 2, 8192);
        Require(Dropout >= 0 && Dropout < 1, "dropout", "in [0, 1)", Dropout);
        RequireLearningRate(LearningRate);
        Require(DecaySteps >= 0, "decay_steps", "≥ 0", DecaySteps);
        Require(WeightDecay >= 0 && WeightDecay < 1, "weight_decay", "in [0, 1)", WeightDecay);
    }
}
