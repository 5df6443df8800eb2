using TorchSharp.Modules;

namespace GenSharp.Models.Encoders;

/// <summary>
/// The checkpoint root of the <c>bert</c> family, laid out as Hugging Face's <c>BertForMaskedLM</c>: the trunk under
/// <c>bert.</c> and the masked-language-model head under <c>cls.predictions</c> (transform = dense, activation,
/// LayerNorm; output = the token embedding matrix, tied, plus <c>cls.predictions.bias</c>).
/// </summary>
public sealed class BertNetwork : nn.Module
{
    readonly BertEncoder _bert;
    readonly Linear? _transform;
    readonly LayerNorm? _transformNorm;
    readonly Parameter? _outputBias;
    readonly BertActivation _act;

    public BertNetwork(BertConfig c) : base(nameof(BertNetwork))
    {
        _bert = new BertEncoder(c);
        _act = c.HiddenAct;
        register_module("bert", _bert);
        if (c.MlmHead)
        {
            _transform = nn.Linear(c.HiddenSize, c.HiddenSize);
            _transformNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
            _outputBias = new Parameter(torch.zeros(c.VocabSize));
            using (torch.no_grad()) _transform.weight!.normal_(0, 0.02).detach();
            using (torch.no_grad()) _transform.bias!.zero_();
            var predictions = new NamedModules(("transform", new NamedModules(("dense", _transform), ("LayerNorm", _transformNorm))))
                .WithParameter("bias", _outputBias);
            register_module("cls", new NamedModules(("predictions", predictions)));
        }
    }

    protected override void RegisterComponents() { }

    /// <summary>The trunk.</summary>
    public BertEncoder Encoder => _bert;

    /// <summary>Whether the MLM head is present.</summary>
    public bool HasMlmHead => _transform is not null;

    /// <summary>MLM logits (…, V) of hidden states (…, C).</summary>
    public Tensor MlmLogits(Tensor hidden)
    {
        if (_transform is null) throw new GenSharpException("this encoder has no masked-language-model head (a BertModel or sentence-transformers folder)");
        var h = _transformNorm!.forward(BertLayer.Activate(_transform.forward(hidden), _act));
        return nn.functional.linear(h, _bert.WordEmbeddings, _outputBias);
    }
}
