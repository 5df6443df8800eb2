using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>
/// The GPT network: token + learned position embeddings, n_layer pre-LN blocks, final LayerNorm, and
/// a language-model head tied to the token embedding (logits = h · wteᵀ, Press &amp; Wolf 2017), so the
/// checkpoint holds the matrix once, as <c>wte.weight</c>.
/// </summary>
public sealed class GptNetwork : nn.Module
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly Dropout drop;
    private readonly ModuleList<GptBlock> h;
    private readonly GptLayerNorm ln_f;
    readonly int _blockSize;

    public GptNetwork(GptConfig c) : base(nameof(GptNetwork))
    {
        if (c.VocabSize < 1) throw new GenSharpException("config field vocab_size must be ≥ 1 to build a gpt; it is set from the tokenizer when training");
        _blockSize = c.BlockSize;
        wte = nn.Embedding(c.VocabSize, c.NEmbd);
        wpe = nn.Embedding(c.BlockSize, c.NEmbd);
        drop = nn.Dropout(c.Dropout);
        h = new ModuleList<GptBlock>(Enumerable.Range(0, c.NLayer).Select(i => new GptBlock(c, i)).ToArray());
        ln_f = new GptLayerNorm(c.NEmbd, c.Bias);
        RegisterComponents();
        Initialize(c);
    }

    /// <summary>Blocks, bottom first.</summary>
    public IReadOnlyList<GptBlock> Blocks => h.ToList();

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

    /// <summary>
    /// Tokens (B, T) → logits (B, T, V), or (B, 1, V) for the last position when <paramref name="lastOnly"/>.
    /// With a cache the tokens sit at positions cache.Length … and are appended to it.
    /// </summary>
    public Tensor Forward(Tensor tokens, KvCache? cache = null, bool lastOnly = false)
    {
        long t = tokens.shape[1];
        int start = cache?.Length ?? 0;
        if (start + t > _blockSize)
            throw new GenSharpException($"{start + t} tokens exceed the model's context of {_blockSize} (block_size)");
        using var pos = torch.arange(start, start + t, dtype: ScalarType.Int64, device: tokens.device); // (T)
        var x = drop.forward(wte.forward(tokens) + wpe.forward(pos));        // (B, T, C)
        foreach (var block in h) x = block.Forward(x, cache);
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                             // (B, 1, C)
        x = ln_f.forward(x);
        return nn.functional.linear(x, wte.weight!);                          // (B, T, V), tied head
    }
}
