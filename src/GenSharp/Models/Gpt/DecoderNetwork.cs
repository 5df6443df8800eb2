using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A decoder-only transformer (GPT, or a pretrained Llama-family model): tokens in, next-token logits out, with an
/// optional KV cache; and the eval-mode logits and loss that every language model built on it reports.
/// </summary>
public abstract class DecoderNetwork : nn.Module
{
    // Logits of a loss chunk stay under 2^24 floats (64 MB): one pass for a small vocabulary, a row at a time for 50k+.
    const long LossChunkElements = 1L << 24;

    protected DecoderNetwork(string name) : base(name) { }

    /// <summary>Most tokens the network attends to.</summary>
    public abstract int ContextLength { get; }

    /// <summary>Token ids (rows of the embedding and the head).</summary>
    public abstract int VocabSize { get; }

    /// <summary>Attention layers (one cache slot each).</summary>
    public abstract int Layers { get; }

    /// <summary>
    /// Tokens (B, T) → logits (B, T, V), or (B, 1, V) for the last position when <paramref name="lastOnly"/>.
    /// With a cache the tokens continue each row's cached ones (<see cref="IKvCache.Positions"/>) and are appended to it.
    /// </summary>
    public abstract Tensor Forward(Tensor tokens, IKvCache? cache = null, bool lastOnly = false);

    /// <summary>
    /// Whether decoding steps (one new token per sequence, inference, CPU, every projection dense, int8 or int4) run the
    /// block stack as one TorchScript call instead of op by op: same kernels and results up to float rounding, a fraction
    /// of the fixed cost per operation. On by default; GENSHARP_SCRIPTED_DECODE=0 turns it off for networks built afterwards.
    /// </summary>
    public bool ScriptedDecoding
    {
        get => modules().OfType<DecoderBlock>().FirstOrDefault()?.ScriptedDecoding ?? false;
        set { foreach (var block in modules().OfType<DecoderBlock>()) block.ScriptedDecoding = value; }
    }

    /// <summary>
    /// Every projection of the network's blocks by its full parameter prefix (<c>model.layers.0.self_attn.q_proj</c>,
    /// <c>h.0.attn.c_attn</c>), with its host. The head is not among them.
    /// </summary>
    public IEnumerable<(string Name, IProjectionHost Host, string LocalName, nn.Module<Tensor, Tensor> Projection)> NamedProjections()
    {
        foreach (var (prefix, module) in named_modules())
            if (module is IProjectionHost host)
                foreach (var (local, projection) in host.Projections)
                    yield return ($"{prefix}.{local}", host, local, projection);
    }

    /// <summary>
    /// Replaces projections: <paramref name="replace"/> gets each one's full name and module and returns its stand-in, or
    /// null to keep it. Returns how many were replaced. The replaced modules are not disposed (a wrapper may hold them).
    /// </summary>
    public int ReplaceProjections(Func<string, nn.Module<Tensor, Tensor>, nn.Module<Tensor, Tensor>?> replace)
    {
        int replaced = 0;
        foreach (var (name, host, local, projection) in NamedProjections().ToList())
            if (replace(name, projection) is { } stand)
            {
                host.Replace(local, stand);
                replaced++;
            }
        return replaced;
    }

    /// <summary>An empty cache for every layer, up to the context length (grouped-query models cache Hkv heads, not H).</summary>
    public KvCache CreateCache() => new(Layers, ContextLength);

    /// <summary>An empty cache of <paramref name="slots"/> independent rows, each up to the context length (continuous batching).</summary>
    public SlotKvCache CreateSlotCache(int slots) => new(Layers, slots, ContextLength);

    /// <summary><see cref="Forward"/> in eval mode without gradients (tokens on the network's device).</summary>
    public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
    {
        using var _ = torch.no_grad();
        eval();                          // every module: one added since (a LoRA adapter) starts in training mode, with dropout
        return Forward(tokens, cache, lastOnly);
    }

    /// <summary>Mean next-token cross-entropy (nats/token) of targets (B, T) given inputs (B, T), in eval mode; rows in chunks, since (T, V) logits of a large vocabulary are big.</summary>
    public double Loss(Tensor inputs, Tensor targets)
    {
        using var _ = torch.no_grad();
        eval();
        long b = inputs.shape[0], rows = Math.Clamp(LossChunkElements / (inputs.shape[1] * VocabSize), 1, b);
        double total = 0;
        for (long r = 0; r < b; r += rows)
        {
            using var scope = torch.NewDisposeScope();
            long n = Math.Min(rows, b - r);
            var logits = Forward(inputs.narrow(0, r, n));                                        // (n, T, V)
            var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), targets.narrow(0, r, n).reshape(-1));
            total += loss.item<float>() * n;
        }
        return total / b;
    }

    /// <summary>
    /// Runs <paramref name="x"/> through <paramref name="blocks"/> in order. Without gradients each block's temporaries are
    /// freed as it returns, so inference holds one block's activations at a time rather than every block's until the
    /// caller's dispose scope ends (a 60-token prefill of a 30-layer model held ~400 MB that way).
    /// </summary>
    public static Tensor ThroughBlocks<TBlock>(IEnumerable<TBlock> blocks, Tensor x, Func<TBlock, Tensor, Tensor> forward)
    {
        if (torch.is_grad_enabled())
        {
            foreach (var block in blocks) x = forward(block, x);                         // autograd keeps them anyway
            return x;
        }
        var input = x;
        foreach (var block in blocks)
        {
            Tensor y;
            using (var scope = torch.NewDisposeScope())
                y = forward(block, x).MoveToOuterDisposeScope();
            if (!ReferenceEquals(x, input)) x.Dispose();                                  // the previous block's output
            x = y;
        }
        return x;
    }

    /// <summary>
    /// Runs <paramref name="x"/> through the decoder <paramref name="blocks"/>: a decoding step as one scripted call for the
    /// whole stack where it applies (<see cref="ScriptedDecode.Blocks"/>), anything else block by block.
    /// </summary>
    internal static Tensor ThroughDecoderBlocks(IList<DecoderBlock> blocks, Tensor x, IKvCache? cache, (Tensor Cos, Tensor Sin)? rotary = null) =>
        ScriptedDecode.Blocks(blocks.AsReadOnly(), x, cache, rotary) ?? ThroughBlocks(blocks, x, (block, y) => block.Forward(y, cache, rotary));

    /// <summary>One-line error when <paramref name="fresh"/> tokens after the cached ones exceed the context.</summary>
    protected static void CheckContext(IKvCache? cache, long fresh, int context, string contextKey)
    {
        long end = cache?.End(fresh) ?? fresh;
        if (end > context)
            throw new GenSharpException($"{end} tokens exceed the model's context of {context} ({contextKey})");
    }

    /// <summary>Positions of the fed tokens: the cache's ((T) or (B, T)), or 0 … T − 1 without one.</summary>
    protected static Tensor Positions(IKvCache? cache, long fresh, Device device) =>
        cache?.Positions(fresh, device) ?? torch.arange(fresh, dtype: ScalarType.Int64, device: device);

    /// <summary>The head's (V, C) matrix: <c>lm_head</c>'s weight, or the token embedding when the head is tied to it.</summary>
    public abstract Tensor HeadWeight { get; }

    /// <summary>True when the head is the token embedding (no <c>lm_head</c> of its own).</summary>
    public abstract bool TiedHead { get; }

    /// <summary>
    /// Puts <paramref name="head"/> (hidden (…, C) → logits (…, V)) in place of the dense head, registered as <c>lm_head</c>
    /// (an untied head's dense layer leaves the state; a tied embedding stays for the token lookups). Not disposed: the old head.
    /// </summary>
    public void ReplaceHead(nn.Module<Tensor, Tensor> head)
    {
        _head = head;
        _internal_submodules["lm_head"] = head;
    }

    nn.Module<Tensor, Tensor>? _head;
    nn.Module<Tensor, Tensor>? _lookup;

    /// <summary>The token embedding module (its weight is <see cref="TokenEmbeddingName"/>).</summary>
    protected abstract Embedding TokenEmbedding { get; }

    /// <summary>The token embedding's parameter name (<c>wte.weight</c>, <c>model.embed_tokens.weight</c>).</summary>
    public abstract string TokenEmbeddingName { get; }

    /// <summary>True when the token lookups go through a stand-in (<see cref="ReplaceTokenLookup"/>).</summary>
    public bool TokenLookupReplaced => _lookup is not null;

    /// <summary>
    /// Puts <paramref name="lookup"/> (token ids (…) → vectors (…, C)) in place of the token embedding's lookups, registered
    /// as <c>token_lookup</c>, and frees the embedding's matrix (its parameter stays, empty: (0, C)). For a tied head
    /// only after <see cref="ReplaceHead"/>, since the head reads that matrix.
    /// </summary>
    public void ReplaceTokenLookup(nn.Module<Tensor, Tensor> lookup)
    {
        if (TiedHead && _head is null)
            throw new InvalidOperationException("the head is tied to the token embedding: replace the head before the lookups");
        _lookup = lookup;
        _internal_submodules["token_lookup"] = lookup;
        var table = TokenEmbedding;
        var old = table.weight!;
        var device = old.device_type == DeviceType.META ? torch.CPU : old.device;              // built without storage (DeferredWeights)
        table.weight = new Parameter(torch.empty(0, old.shape[1], dtype: old.dtype, device: device), requires_grad: false);
        old.Dispose();
    }

    /// <summary>Token ids (B, T) → vectors (B, T, C): the token embedding, or its stand-in.</summary>
    protected Tensor Embed(Tensor tokens) => _lookup is not null ? _lookup.forward(tokens) : TokenEmbedding.forward(tokens);

    /// <summary>Logits of hidden states (B, T, C): a replaced head, the untied <paramref name="lmHead"/>, or the embedding matrix when tied (Press &amp; Wolf 2017).</summary>
    protected Tensor Head(Tensor hidden, Tensor embedding, Linear? lmHead) =>
        _head is not null ? _head.forward(hidden)
        : lmHead is null ? FewRowLinear.Forward(hidden, embedding, null) : FewRowLinear.Forward(lmHead, hidden);   // (B, T, V)
}
