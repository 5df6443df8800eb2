using GenSharp.Text;

namespace GenSharp.Models.Encoders;

/// <summary>
/// A BERT-style bidirectional transformer encoder (Devlin et al. 2019) with learned absolute positions and token types,
/// post-LN as in BERT or pre-LN (Xiong et al. 2020) when <see cref="PreLayerNorm"/> is set. Defaults are a small CPU
/// model for masked-language-model training on tiny Shakespeare: 4 layers, 4 heads, 128-d, 256-d feed-forward,
/// 66 positions (64 text tokens + [CLS] + [SEP]). The special tokens are the last four ids of the vocabulary when
/// trained from scratch; a Hugging Face folder brings its own.
/// </summary>
public sealed record BertConfig : FamilyConfig
{
    /// <summary>Transformer layers.</summary>
    public int NumHiddenLayers { get; init; } = 4;
    /// <summary>Attention heads per layer (must divide <see cref="HiddenSize"/>).</summary>
    public int NumAttentionHeads { get; init; } = 4;
    /// <summary>Width of the hidden states.</summary>
    public int HiddenSize { get; init; } = 128;
    /// <summary>Width of the feed-forward layer.</summary>
    public int IntermediateSize { get; init; } = 256;
    /// <summary>Learned positions; a sequence is at most this long, [CLS] and [SEP] included.</summary>
    public int MaxPositionEmbeddings { get; init; } = 66;
    /// <summary>Token types (segments A/B).</summary>
    public int TypeVocabSize { get; init; } = 2;
    /// <summary>Epsilon of the LayerNorms (BERT: 1e-12).</summary>
    public double LayerNormEps { get; init; } = 1e-12;
    /// <summary>Feed-forward nonlinearity.</summary>
    public BertActivation HiddenAct { get; init; } = BertActivation.Gelu;
    /// <summary>Dropout on embeddings, attention weights and residual branches.</summary>
    public double Dropout { get; init; } = 0.1;
    /// <summary>False: BERT's post-LN (LayerNorm after each residual add); true: pre-LN with a final LayerNorm.</summary>
    public bool PreLayerNorm { get; init; }
    /// <summary>Keeps BERT's pooler (a tanh dense layer over [CLS]).</summary>
    public bool Pooler { get; init; } = true;
    /// <summary>Keeps the masked-language-model head (<c>cls.predictions</c>, tied to the token embeddings).</summary>
    public bool MlmHead { get; init; } = true;
    /// <summary>Vocabulary size; set from the tokenizer when training (0 = not set yet).</summary>
    public int VocabSize { get; init; }
    /// <summary>Id of [PAD] (−1 = set from the tokenizer when training).</summary>
    public int PadTokenId { get; init; } = -1;
    /// <summary>Id of [CLS].</summary>
    public int ClsTokenId { get; init; } = -1;
    /// <summary>Id of [SEP].</summary>
    public int SepTokenId { get; init; } = -1;
    /// <summary>Id of [MASK].</summary>
    public int MaskTokenId { get; init; } = -1;
    /// <summary>Tokenizer learned on the training text: char or bpe.</summary>
    public TokenizerKind Tokenizer { get; init; } = TokenizerKind.Char;
    /// <summary>Vocabulary size the byte-level BPE is trained to.</summary>
    public int BpeVocabSize { get; init; } = 1024;
    /// <summary>Share of text tokens chosen for prediction (BERT: 0.15); of those 80% become [MASK], 10% a random token, 10% stay.</summary>
    public double MaskProbability { get; init; } = 0.15;
    /// <summary>Peak AdamW learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public double MinLearningRate { get; init; } = 1e-4;
    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Step at which the cosine decay ends; 0 = the run's total steps.</summary>
    public long LrDecaySteps { get; init; }
    /// <summary>Decoupled weight decay on matrices and embeddings.</summary>
    public double WeightDecay { get; init; } = 0.01;
    /// <summary>AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Clip the global gradient norm to this (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Estimate the validation MLM loss every N steps (and at the end).</summary>
    public int EvalInterval { get; init; } = 250;
    /// <summary>Batches in each validation estimate.</summary>
    public int EvalIters { get; init; } = 20;

    /// <summary>Width of one attention head.</summary>
    public int HeadDim => HiddenSize / NumAttentionHeads;

    public override void Validate()
    {
        RequireIn(NumHiddenLayers, "num_hidden_layers", 1, 256);
        RequireIn(NumAttentionHeads, "num_attention_heads", 1, 256);
        RequireIn(HiddenSize, "hidden_size", 1, 65536);
        Require(HiddenSize % NumAttentionHeads == 0, "hidden_size", $"a multiple of num_attention_heads ({NumAttentionHeads})", HiddenSize);
        RequireIn(IntermediateSize, "intermediate_size", 1, 1 << 20);
        RequireIn(MaxPositionEmbeddings, "max_position_embeddings", 3, 1 << 20);
        RequireIn(TypeVocabSize, "type_vocab_size", 1, 1024);
        Require(LayerNormEps > 0 && LayerNormEps < 1, "layer_norm_eps", "in (0, 1)", LayerNormEps);
        Require(Enum.IsDefined(HiddenAct), "hidden_act", "gelu, gelu_tanh or relu", HiddenAct);
        Require(Dropout is >= 0 and < 1, "dropout", "in [0, 1)", Dropout);
        Require(VocabSize is >= 0 and <= 1 << 24, "vocab_size", "in [0, 16777216] (0 = set from the tokenizer)", VocabSize);
        if (VocabSize > 0)
            foreach (var (name, id) in new[] { ("pad_token_id", PadTokenId), ("cls_token_id", ClsTokenId), ("sep_token_id", SepTokenId), ("mask_token_id", MaskTokenId) })
                Require(id >= -1 && id < VocabSize, name, $"in [-1, {VocabSize}) (-1 = none)", id);
        Require(Enum.IsDefined(Tokenizer) && Tokenizer != TokenizerKind.HuggingFace || VocabSize > 0, "tokenizer", "char or bpe", Tokenizer);
        RequireIn(BpeVocabSize, "bpe_vocab_size", 256, 1 << 20);
        Require(MaskProbability is > 0 and < 1, "mask_probability", "in (0, 1)", MaskProbability);
        RequireLearningRate(LearningRate);
        Require(MinLearningRate >= 0 && MinLearningRate <= LearningRate, "min_learning_rate", $"in [0, learning_rate = {LearningRate}]", MinLearningRate);
        Require(WarmupSteps >= 0, "warmup_steps", "≥ 0", WarmupSteps);
        Require(LrDecaySteps >= 0, "lr_decay_steps", "≥ 0 (0 = the run's total steps)", LrDecaySteps);
        Require(WeightDecay is >= 0 and < 10, "weight_decay", "in [0, 10)", WeightDecay);
        RequireAdamBetas(Beta1, Beta2);
        RequireGradClip(GradClip);
        Require(EvalInterval >= 1, "eval_interval", "≥ 1", EvalInterval);
        Require(EvalIters >= 1, "eval_iters", "≥ 1", EvalIters);
    }
}
