using TorchSharp.Modules;

namespace GenSharp.Models.Encoders;

/// <summary>
/// One encoder layer: bidirectional multi-head self-attention (Vaswani et al. 2017, Eq. 1) and a feed-forward block,
/// each with a residual connection. Post-LN (BERT): x ← LN(x + Attn(x)), x ← LN(x + FFN(x)). Pre-LN (Xiong et al.
/// 2020): x ← x + Attn(LN(x)), x ← x + FFN(LN(x)), the same two LayerNorms used before their branch. Parameter names
/// are Hugging Face's (<c>attention.self.query</c>, <c>attention.output.LayerNorm</c>, <c>intermediate.dense</c>, ...).
/// </summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    readonly Linear _query, _key, _value, _attnOut, _inter, _out;
    readonly LayerNorm _attnNorm, _outNorm;
    readonly Dropout _dropout;
    readonly int _heads, _headDim;
    readonly double _attnDropout;
    readonly bool _preLn;
    readonly BertActivation _act;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        int h = c.HiddenSize;
        (_heads, _headDim, _attnDropout, _preLn, _act) = (c.NumAttentionHeads, c.HeadDim, c.Dropout, c.PreLayerNorm, c.HiddenAct);
        _query = nn.Linear(h, h);
        _key = nn.Linear(h, h);
        _value = nn.Linear(h, h);
        _attnOut = nn.Linear(h, h);
        _attnNorm = nn.LayerNorm(h, c.LayerNormEps);
        _inter = nn.Linear(h, c.IntermediateSize);
        _out = nn.Linear(c.IntermediateSize, h);
        _outNorm = nn.LayerNorm(h, c.LayerNormEps);
        _dropout = nn.Dropout(c.Dropout);
        register_module("attention", new NamedModules(
            ("self", new NamedModules(("query", _query), ("key", _key), ("value", _value))),
            ("output", new NamedModules(("dense", _attnOut), ("LayerNorm", _attnNorm)))));
        register_module("intermediate", new NamedModules(("dense", _inter)));
        register_module("output", new NamedModules(("dense", _out), ("LayerNorm", _outNorm)));
        register_module("dropout", _dropout);
    }

    protected override void RegisterComponents() { }

    /// <param name="x">Hidden states (B, T, C).</param>
    /// <param name="keep">Boolean (B, 1, 1, T), true where a key may be attended to (not padding); null = all.</param>
    public override Tensor forward(Tensor x, Tensor? keep)
    {
        if (_preLn)
        {
            x = x + Attention(_attnNorm.forward(x), keep);
            return x + FeedForward(_outNorm.forward(x));
        }
        x = _attnNorm.forward(x + Attention(x, keep));
        return _outNorm.forward(x + FeedForward(x));
    }

    Tensor Attention(Tensor x, Tensor? keep)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Linear l) => l.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);   // (B, H, T, D)
        var y = nn.functional.scaled_dot_product_attention(Heads(_query), Heads(_key), Heads(_value), keep,
            training ? _attnDropout : 0.0, false);                                               // (B, H, T, D)
        y = y.transpose(1, 2).reshape(b, t, _heads * _headDim);                                  // (B, T, C)
        return _dropout.forward(_attnOut.forward(y));
    }

    Tensor FeedForward(Tensor x) => _dropout.forward(_out.forward(Activate(_inter.forward(x), _act)));

    /// <summary>The layer's nonlinearity.</summary>
    internal static Tensor Activate(Tensor x, BertActivation act) => act switch
    {
        BertActivation.Gelu => x.gelu(),
        // GELU by tanh (Hendrycks & Gimpel 2016, §2): ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
        BertActivation.GeluTanh => 0.5 * x * (1 + ((x + 0.044715 * x.pow(3)) * Math.Sqrt(2 / Math.PI)).tanh()),
        _ => x.relu(),
    };
}
