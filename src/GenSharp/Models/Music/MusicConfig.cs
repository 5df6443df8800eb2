namespace GenSharp.Models.Music;

/// <summary>
/// A small GPT (the <c>gpt</c> family's decoder: learned positions, pre-LN blocks, tied head) over a token encoding of
/// the JSB Chorales (<see cref="MusicTokens"/>). In the SATB form every window starts on a step, so a token's position
/// modulo 4 tells its voice; the four voices of a step are modelled jointly, one after another (soprano first).
/// </summary>
public sealed record MusicConfig : FamilyConfig
{
    /// <summary>satb16 (four voices per 16th note) or roll (the quarter-note piano roll).</summary>
    public MusicEncoding Encoding { get; init; } = MusicEncoding.Satb16;
    /// <summary>Transformer blocks.</summary>
    public int NLayer { get; init; } = 4;
    /// <summary>Attention heads per block.</summary>
    public int NHead { get; init; } = 4;
    /// <summary>Embedding width.</summary>
    public int NEmbd { get; init; } = 128;
    /// <summary>Tokens of context (a multiple of 4 for satb16; 256 = 64 sixteenths = 4 bars).</summary>
    public int BlockSize { get; init; } = 256;
    /// <summary>Dropout in the blocks (the chorales are small: 229 training pieces).</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>AdamW peak learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public double MinLearningRate { get; init; } = 1e-4;
    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Steps of the cosine decay (0 = the run's step count).</summary>
    public long LrDecaySteps { get; init; }
    /// <summary>AdamW weight decay of the matrices.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Clip the global gradient norm to this (0 = off).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Score the whole valid split every N steps (and at the end).</summary>
    public int EvalInterval { get; init; } = 250;

    /// <summary>Tokens per step of the SATB form; 1 (any start) for the roll.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Alignment => Encoding == MusicEncoding.Satb16 ? 4 : 1;

    public override void Validate()
    {
        Require(Enum.IsDefined(Encoding), "encoding", "satb16 or roll", Encoding);
        RequireIn(NLayer, "n_layer", 1, 64);
        RequireIn(NHead, "n_head", 1, 64);
        RequireIn(NEmbd, "n_embd", 1, 4096);
        Require(NEmbd % NHead == 0, "n_embd", $"a multiple of n_head ({NHead})", NEmbd);
        RequireIn(BlockSize, "block_size", 8, 8192);
        Require(BlockSize % Alignment == 0, "block_size", "a multiple of 4 for satb16 (one step = four tokens)", BlockSize);
        Require(Dropout is >= 0 and < 1, "dropout", "[0, 1)", Dropout);
        RequireLearningRate(LearningRate);
        Require(MinLearningRate >= 0 && MinLearningRate <= LearningRate, "min_learning_rate", $"in [0, learning_rate = {LearningRate}]", MinLearningRate);
        RequireIn(WarmupSteps, "warmup_steps", 0, 1_000_000);
        RequireIn(LrDecaySteps, "lr_decay_steps", 0, 100_000_000);
        Require(WeightDecay is >= 0 and <= 1, "weight_decay", "[0, 1]", WeightDecay);
        RequireGradClip(GradClip);
        RequireIn(EvalInterval, "eval_interval", 1, 1_000_000);
    }
}
