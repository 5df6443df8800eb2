using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// The GPT network (GPT-2 layout, Radford et al. 2019): token + learned position embeddings, n_layer pre-LN
/// blocks, final LayerNorm, and a language-model head tied to the token embedding (logits = h · wteᵀ, Press &amp;
/// Wolf 2017), so the checkpoint holds the matrix once, as <c>wte.weight</c>; or, with tie_word_embeddings false,
/// an <c>lm_head</c> matrix. Trained by GenSharp, and built from a Hugging Face gpt2 folder by
/// <see cref="Pretrained.PretrainedLanguageModel"/> (its config mapped to a <see cref="GptConfig"/>).
/// </summary>
public sealed class GptNetwork : DecoderNetwork
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Dropout drop;
    private readonly ModuleList<DecoderBlock> h;
    private readonly GptLayerNorm ln_f;
    private readonly Linear? lm_head;
    readonly int _blockSize, _vocabSize, _layers;

    public GptNetwork(GptConfig c) : base(nameof(GptNetwork))
    {
        if (c.VocabSize < 1) throw new GenSharpException("config field vocab_size must be ≥ 1 to build a gpt; it is set from the tokenizer when training");
        (_blockSize, _vocabSize, _layers) = (c.BlockSize, c.VocabSize, c.NLayer);
        wte = DeferredWeights.TokenEmbedding(c.VocabSize, c.NEmbd, c.TieWordEmbeddings);
        wpe = nn.Embedding(c.BlockSize, c.NEmbd);
        drop = nn.Dropout(c.Dropout);
        h = new ModuleList<DecoderBlock>(Enumerable.Range(0, c.NLayer).Select(i => DecoderBlock.Gpt(c, i)).ToArray());
        ln_f = new GptLayerNorm(c.NEmbd, c.Bias, c.LayerNormEpsilon);
        if (!c.TieWordEmbeddings) lm_head = DeferredWeights.Head(c.NEmbd, c.VocabSize);
        RegisterComponents();
        Initialize(c);
    }

    public override int ContextLength => _blockSize;
    public override int VocabSize => _vocabSize;
    public override int Layers => _layers;
    public override Tensor HeadWeight => lm_head?.weight ?? wte.weight!;
    public override bool TiedHead => lm_head is null;
    protected override Embedding TokenEmbedding => wte;
    public override string TokenEmbeddingName => "wte.weight";

    /// <summary>GPT-2 init: N(0, 0.02) for matrices and embeddings, zero biases, residual output projections N(0, 0.02/√(2·n_layer)).</summary>
    void Initialize(GptConfig c)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal) && name.Contains("ln_", StringComparison.Ordinal)) p.zero_();
            else if (name.Contains("ln_", StringComparison.Ordinal)) p.fill_(1.0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
            else if (name.EndsWith("c_proj.weight", StringComparison.Ordinal)) nn.init.normal_(p, 0, 0.02 / Math.Sqrt(2.0 * c.NLayer));
            else nn.init.normal_(p, 0, 0.02);
        }
    }

    public override Tensor Forward(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
    {
        long t = tokens.shape[1];
        CheckContext(cache, t, _blockSize, "block_size");
        using var pos = Positions(cache, t, tokens.device);                  // (T), or (B, T) for rows at their own positions
        var x = drop.forward(Embed(tokens) + wpe.forward(pos));             // (B, T, C)
        x = ThroughDecoderBlocks(h, x, cache);
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                             // (B, 1, C)
        x = ln_f.forward(x);
        return Head(x, wte.weight!, lm_head);                                 // (B, T, V)
    }
}
