using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// GPT-2 (Radford et al. 2019) as Hugging Face stores it: <c>transformer.wte/wpe/h.N/ln_f</c>, LayerNorm
/// with bias, gelu_new, head tied to <c>wte</c> (or <c>lm_head</c> when tie_word_embeddings is false).
/// HF's Conv1D layers keep their weights as (in, out); <see cref="MapCheckpointName"/> asks the loader to
/// transpose them into these (out, in) Linear layers.
/// </summary>
public sealed class Gpt2Network : HfNetwork
{
    static readonly string[] Conv1D = { ".attn.c_attn.weight", ".attn.c_proj.weight", ".mlp.c_fc.weight", ".mlp.c_proj.weight" };

    private readonly Gpt2Backbone transformer;
    private readonly Linear? lm_head;
    readonly int _context;

    public Gpt2Network(HfModelConfig c) : base(nameof(Gpt2Network))
    {
        if (!c.IsGpt2) throw new ArgumentException("only a gpt2 config builds a Gpt2Network");
        _context = c.ContextLength;
        transformer = new Gpt2Backbone(c);
        if (!c.TieEmbeddings) lm_head = nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor Forward(Tensor tokens, KvCache? cache = null, bool lastOnly = false)
    {
        CheckContext(cache, tokens.shape[1], _context, "n_positions");
        var x = transformer.Forward(tokens, cache, lastOnly);                    // (B, T, C)
        return Head(x, transformer.Embedding, lm_head);                          // (B, T, V)
    }

    public override (string Name, bool Transpose)? MapCheckpointName(string hfName)
    {
        if (hfName == "lm_head.weight") return lm_head is null ? null : (hfName, false);
        // Two layouts exist: GPT2LMHeadModel saves "transformer.h.0…", GPT2Model saves "h.0…".
        var name = hfName.StartsWith("transformer.", StringComparison.Ordinal) ? hfName : "transformer." + hfName;
        if (name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
            return null;                                                          // the causal-mask buffers of old checkpoints
        return (name, Conv1D.Any(s => name.EndsWith(s, StringComparison.Ordinal)));
    }
}
