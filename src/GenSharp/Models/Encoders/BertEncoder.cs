using TorchSharp.Modules;

namespace GenSharp.Models.Encoders;

/// <summary>
/// The BERT trunk: token + absolute position + token-type embeddings, LayerNorm, dropout, the layer stack, and
/// optionally the pooler. Names follow Hugging Face's <c>BertModel</c> (<c>embeddings.word_embeddings</c>,
/// <c>encoder.layer.N...</c>, <c>pooler.dense</c>), so its state dict loads such folders as they are. Pre-LN adds
/// <c>encoder.final_layer_norm</c> after the last layer.
/// </summary>
public sealed class BertEncoder : nn.Module
{
    readonly Embedding _word, _position, _tokenType;
    readonly LayerNorm _embNorm;
    readonly LayerNorm? _finalNorm;
    readonly Dropout _dropout;
    readonly BertLayer[] _layers;
    readonly Linear? _pooler;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        int h = c.HiddenSize;
        _word = nn.Embedding(c.VocabSize, h);
        _position = nn.Embedding(c.MaxPositionEmbeddings, h);
        _tokenType = nn.Embedding(c.TypeVocabSize, h);
        _embNorm = nn.LayerNorm(h, c.LayerNormEps);
        _dropout = nn.Dropout(c.Dropout);
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray();
        register_module("embeddings", new NamedModules(("word_embeddings", _word), ("position_embeddings", _position),
            ("token_type_embeddings", _tokenType), ("LayerNorm", _embNorm), ("dropout", _dropout)));
        var stack = new List<(string, nn.Module)> { ("layer", nn.ModuleList(_layers)) };
        if (c.PreLayerNorm)
        {
            _finalNorm = nn.LayerNorm(h, c.LayerNormEps);
            stack.Add(("final_layer_norm", _finalNorm));
        }
        register_module("encoder", new NamedModules(stack.ToArray()));
        if (c.Pooler)
        {
            _pooler = nn.Linear(h, h);
            register_module("pooler", new NamedModules(("dense", _pooler)));
        }
        InitWeights(c);
    }

    protected override void RegisterComponents() { }

    /// <summary>The token embedding matrix (V, C), also the MLM head's output matrix.</summary>
    public Parameter WordEmbeddings => _word.weight!;

    /// <summary>Whether the pooler is present.</summary>
    public bool HasPooler => _pooler is not null;

    /// <summary>
    /// Hidden states (B, T, C) of int64 tokens (B, T). <paramref name="attentionMask"/> (B, T) is 1 for tokens and 0 for
    /// padding (null = no padding); <paramref name="tokenTypes"/> (B, T) defaults to all zeros.
    /// </summary>
    public Tensor Forward(Tensor tokens, Tensor? attentionMask = null, Tensor? tokenTypes = null)
    {
        long t = tokens.shape[1];
        if (t > _position.weight!.shape[0])
            throw new GenSharpException($"a sequence of {t} tokens is longer than the encoder's {_position.weight!.shape[0]} positions");
        using var positions = torch.arange(t, dtype: ScalarType.Int64, device: tokens.device);
        var x = _word.forward(tokens) + _position.forward(positions).unsqueeze(0);                 // (B, T, C)
        x = tokenTypes is null ? x + _tokenType.weight![0] : x + _tokenType.forward(tokenTypes);
        x = _dropout.forward(_embNorm.forward(x));
        Tensor? keep = attentionMask is null ? null : attentionMask.ne(0).view(tokens.shape[0], 1, 1, t);  // (B, 1, 1, T)
        foreach (var layer in _layers) x = layer.forward(x, keep);
        return _finalNorm is null ? x : _finalNorm.forward(x);
    }

    /// <summary>BERT's pooled output: tanh(W·h_[CLS] + b), (B, C).</summary>
    public Tensor Pool(Tensor hidden) =>
        (_pooler ?? throw new GenSharpException("this encoder has no pooler (config pooler = false)")).forward(hidden[.., 0]).tanh();

    /// <summary>BERT's initialisation: normal(0, 0.02) weights and embeddings, zero biases, unit LayerNorm gains.</summary>
    void InitWeights(BertConfig c)
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.Contains("LayerNorm") || name.Contains("layer_norm")) { if (name.EndsWith("weight")) p.fill_(1); else p.zero_(); }
            else if (name.EndsWith("bias")) p.zero_();
            else p.normal_(0, 0.02);
        }
    }
}
