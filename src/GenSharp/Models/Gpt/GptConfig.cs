using GenSharp.Text;

namespace GenSharp.Models.Gpt;

/// <summary>
/// Decoder-only transformer language model (GPT-2 layout, Radford et al. 2019). Defaults are nanoGPT's
/// CPU configuration for character-level tiny Shakespeare: 4 layers, 4 heads, 128-d embeddings,
/// context 64, no dropout, lr 1e-3 → 1e-4 with 100 warm-up steps, β2 0.99, weight decay 0.1,
/// gradient clipping at 1.
/// </summary>
public sealed record GptConfig : FamilyConfig
{
    /// <summary>Transformer blocks.</summary>
    public int NLayer { get; init; } = 4;
    /// <summary>Attention heads per block (must divide <see cref="NEmbd"/>).</summary>
    public int NHead { get; init; } = 4;
    /// <summary>Width of the residual stream.</summary>
    public int NEmbd { get; init; } = 128;
    /// <summary>Context length in tokens (learned position embeddings cover exactly this many).</summary>
    public int BlockSize { get; init; } = 64;
    /// <summary>Dropout on embeddings, attention weights, and the residual branches (0 = none).</summary>
    public double Dropout { get; init; } = 0.0;
    /// <summary>Biases in the linear layers and LayerNorms (GPT-2: true; nanoGPT default: false).</summary>
    public bool Bias { get; init; }
    /// <summary>Epsilon of the LayerNorms (GPT-2: 1e-5).</summary>
    public double LayerNormEpsilon { get; init; } = 1e-5;
    /// <summary>MLP nonlinearity: gelu (exact, erf form) or gelu_tanh (its tanh approximation, GPT-2's gelu_new).</summary>
    public GptActivation Activation { get; init; } = GptActivation.Gelu;
    /// <summary>The language-model head is the token embedding matrix (Press &amp; Wolf 2017); false adds an <c>lm_head</c> matrix.</summary>
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>Vocabulary size; set from the tokenizer when training (0 = not set yet).</summary>
    public int VocabSize { get; init; }
    /// <summary>Tokenizer learned on the training text: char or bpe.</summary>
    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Char;
    /// <summary>Vocabulary size the byte-level BPE is trained to (256 bytes + merges).</summary>
    public int BpeVocabSize { get; init; } = 1024;
    /// <summary>Peak AdamW learning rate, reached after the warm-up.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Learning rate at the end of the cosine decay (and after it).</summary>
    public double MinLearningRate { get; init; } = 1e-4;
    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Step at which the cosine decay reaches <see cref="MinLearningRate"/>; 0 = the run's total steps.</summary>
    public long LrDecaySteps { get; init; }
    /// <summary>Decoupled weight decay (AdamW), applied to matrices and embeddings only (parameters with ≥ 2 dimensions).</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.99;
    /// <summary>Clip the global gradient norm to this (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Estimate the validation loss every N steps (and at the end).</summary>
    public int EvalInterval { get; init; } = 250;
    /// <summary>Batches of random validation windows in each estimate (the same windows every time).</summary>
    public int EvalIters { get; init; } = 20;

    public override void Validate()
    {
        RequireIn(NLayer, "n_layer", 1, 256);
        RequireIn(NHead, "n_head", 1, 256);
        RequireIn(NEmbd, "n_embd", 1, 65536);
        Require(NEmbd % NHead == 0, "n_embd", $"a multiple of n_head ({NHead})", NEmbd);
        RequireIn(BlockSize, "block_size", 1, 1 << 20);
        Require(Dropout is >= 0 and < 1, "dropout", "in [0, 1)", Dropout);
        Require(LayerNormEpsilon > 0 && LayerNormEpsilon < 1, "layer_norm_epsilon", "in (0, 1)", LayerNormEpsilon);
        Require(Enum.IsDefined(Activation), "activation", "gelu or gelu_tanh", Activation);
        Require(VocabSize is >= 0 and <= 1 << 24, "vocab_size", "in [0, 16777216] (0 = set from the tokenizer)", VocabSize);
        Require(Enum.IsDefined(Tokenizer), "tokenizer", "char or bpe", Tokenizer);
        RequireIn(BpeVocabSize, "bpe_vocab_size", 256, 1 << 20);
        RequireLearningRate(LearningRate);
        Require(MinLearningRate >= 0 && MinLearningRate <= LearningRate, "min_learning_rate", $"in [0, learning_rate = {LearningRate}]", MinLearningRate);
        Require(WarmupSteps >= 0, "warmup_steps", "≥ 0", WarmupSteps);
        Require(LrDecaySteps >= 0, "lr_decay_steps", "≥ 0 (0 = the run's total steps)", LrDecaySteps);
        Require(WeightDecay is >= 0 and < 10, "weight_decay", "in [0, 10)", WeightDecay);
        RequireAdamBetas(Beta1, Beta2);
        Require(GradClip >= 0 && double.IsFinite(GradClip), "grad_clip", "a finite number ≥ 0", GradClip);
        Require(EvalInterval >= 1, "eval_interval", "≥ 1", EvalInterval);
        Require(EvalIters >= 1, "eval_iters", "≥ 1", EvalIters);
    }
}
