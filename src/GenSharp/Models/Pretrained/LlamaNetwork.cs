using GenSharp.Models.Gpt;
using TorchSharp.Modules;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// The Llama-family decoder (llama, qwen2, mistral): token embedding, pre-RMSNorm blocks of rotary
/// grouped-query attention and SwiGLU MLP, final RMSNorm, and a head that is <c>lm_head</c> or, with
/// tie_word_embeddings, the embedding matrix itself. Parameter names are those of Hugging Face checkpoints
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, …).
/// </summary>
public sealed class LlamaNetwork : DecoderNetwork
{
    private readonly LlamaBackbone model;
    private readonly Linear? lm_head;
    readonly RotaryEmbedding _rope;
    readonly int _context, _vocabSize, _layers;

    public LlamaNetwork(HfModelConfig c) : base(nameof(LlamaNetwork))
    {
        if (c.IsGpt2) throw new ArgumentException("a gpt2 config builds a GptNetwork (HfModelConfig.ToGptConfig)");
        (_context, _vocabSize, _layers) = (c.ContextLength, c.VocabSize, c.Layers);
        _rope = new RotaryEmbedding(c.HeadDim, c.RopeTheta, c.RopeScaling);
        model = new LlamaBackbone(c);
        if (!c.TieEmbeddings) lm_head = DeferredWeights.Head(c.HiddenSize, c.VocabSize);
        RegisterComponents();
    }

    public override int ContextLength => _context;
    public override int VocabSize => _vocabSize;
    public override int Layers => _layers;
    public override Tensor HeadWeight => lm_head?.weight ?? model.Embedding;
    public override bool TiedHead => lm_head is null;
    protected override Embedding TokenEmbedding => model.TokenEmbedding;
    public override string TokenEmbeddingName => "model.embed_tokens.weight";

    public override Tensor Forward(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
    {
        CheckContext(cache, tokens.shape[1], _context, "max_position_embeddings or sliding_window");
        using var positions = Positions(cache, tokens.shape[1], tokens.device);    // (T) or (B, T)
        var x = model.Forward(Embed(tokens), _rope, positions, cache, lastOnly);   // (B, T, C)
        return Head(x, model.Embedding, lm_head);                                 // (B, T, V)
    }
}
