namespace GenSharp.Models.Gpt;

/// <summary>
/// A decoder block's work for one new token per sequence, run as TorchScript: libtorch's own interpreter calls the same
/// ATen kernels as the eager path, but without a managed tensor object, a dispose-scope entry and an interop crossing per
/// operation. Decoding a small model is a few hundred such operations per token, each moving little data, so their fixed
/// cost is a large part of a step (SmolLM2-135M on 2 cores: docs/benchmarks.md, "Decoding speed"); prefill and training
/// stay eager. A block is two calls: <c>attn_in</c> (norm, q/k/v projections, rotary positions) and, after the KV cache
/// has taken the new keys and values, <c>attn_out_mlp</c> (attention, output projection, residual, norm, MLP, residual).
/// Matrix–vector products are cut into one block of weight rows per thread, as <see cref="FewRowLinear"/> does.
/// </summary>
internal static class ScriptedDecode
{
    /// <summary>Environment variable that, set to 0, keeps decoding eager (to compare the two paths).</summary>
    public const string Variable = "GENSHARP_SCRIPTED_DECODE";

    /// <summary>Whether networks built from now on decode through the script where it applies (the environment's default).</summary>
    public static bool EnabledByDefault { get; } = Environment.GetEnvironmentVariable(Variable) != "0";

    // Compiled once per process, on first use; the source is fixed here and exercised by the tests.
    static readonly Lazy<torch.jit.CompilationUnit> Unit = new(() => torch.jit.compile(Source), LazyThreadSafetyMode.ExecutionAndPublication);

    const string Source = """
def linear(x: Tensor, w: Tensor, b: Optional[Tensor], blocks: int) -> Tensor:
    # x (R, K) -> (R, N): W·xᵀ, with W's rows cut into `blocks` blocks multiplied as one batched product
    n = w.size(0)
    k = w.size(1)
    r = x.size(0)
    xt = x.t()
    per = n // blocks
    if blocks > 1 and per >= 128:
        even = per * blocks
        y = torch.bmm(w[:even].view(blocks, per, k), xt.unsqueeze(0).expand(blocks, k, r)).view(even, r)
        if even != n:
            y = torch.cat([y, torch.mm(w[even:], xt)], 0)
    else:
        y = torch.mm(w, xt)
    y = y.t()
    if b is not None:
        y = y + b
    return y

def norm(x: Tensor, w: Tensor, b: Optional[Tensor], eps: float, rms: bool) -> Tensor:
    if rms:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    return torch.layer_norm(x, [x.size(-1)], w, b, eps)

def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.size(-1) // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin

def attn_in(x: Tensor, nw: Tensor, nb: Optional[Tensor], eps: float, rms: bool,
            wq: Tensor, bq: Optional[Tensor], wk: Optional[Tensor], bk: Optional[Tensor], wv: Optional[Tensor], bv: Optional[Tensor],
            cos: Optional[Tensor], sin: Optional[Tensor], heads: int, kv_heads: int, head_dim: int, blocks: int) -> Tuple[Tensor, Tensor, Tensor]:
    # x (B, 1, C) -> q (B, H, 1, D), k and v (B, Hkv, 1, D); wk is None when wq is GPT's fused c_attn
    b = x.size(0)
    h = norm(x.view(b, x.size(2)), nw, nb, eps, rms)
    if wk is not None and wv is not None:
        q = linear(h, wq, bq, blocks)
        k = linear(h, wk, bk, blocks)
        v = linear(h, wv, bv, blocks)
    else:
        parts = linear(h, wq, bq, blocks).split(heads * head_dim, 1)
        q = parts[0]
        k = parts[1]
        v = parts[2]
    q = q.view(b, heads, 1, head_dim)
    k = k.view(b, kv_heads, 1, head_dim)
    v = v.view(b, kv_heads, 1, head_dim)
    if cos is not None and sin is not None:
        q = rotate(q, cos, sin)
        k = rotate(k, cos, sin)
    return q, k, v

def attn_out_mlp(x: Tensor, q: Tensor, k: Tensor, v: Tensor, mask: Optional[Tensor], wo: Tensor, bo: Optional[Tensor],
                 nw: Tensor, nb: Optional[Tensor], eps: float, rms: bool,
                 wfc: Tensor, bfc: Optional[Tensor], wup: Optional[Tensor], bup: Optional[Tensor], wdown: Tensor, bdown: Optional[Tensor],
                 gelu_tanh: bool, heads: int, kv_heads: int, head_dim: int, blocks: int) -> Tensor:
    # x (B, 1, C), q (B, H, 1, D), k and v (B, Hkv, L, D) -> (B, 1, C)
    b = x.size(0)
    c = x.size(2)
    if kv_heads != heads:
        # the H / Hkv query heads sharing a key/value head attend as that many queries of it: the cache is read in place
        y = torch.scaled_dot_product_attention(q.view(b, kv_heads, heads // kv_heads, head_dim), k, v, mask, 0.0, False)
    else:
        y = torch.scaled_dot_product_attention(q, k, v, mask, 0.0, False)
    h = x.view(b, c) + linear(y.reshape(b, heads * head_dim), wo, bo, blocks)
    n = norm(h, nw, nb, eps, rms)
    f = linear(n, wfc, bfc, blocks)
    if wup is not None:
        f = torch.silu(f) * linear(n, wup, bup, blocks)
    elif gelu_tanh:
        f = torch.gelu(f, approximate='tanh')
    else:
        f = torch.gelu(f)
    h = h + linear(f, wdown, bdown, blocks)
    return h.view(b, 1, c)
""" + "\n";                                     // TorchScript wants the last line ended

    /// <summary>Whether a block's input <paramref name="x"/> (B, T, C) is a decoding step the script takes.</summary>
    public static bool Applies(Tensor x) =>
        x.shape[1] == 1 && x.shape[0] <= FewRowLinear.MaxRows && x.device_type == DeviceType.CPU
        && x.dtype == ScalarType.Float32 && !torch.is_grad_enabled();

    /// <summary>Blocks run through the script so far in this process (tests check that the path was taken).</summary>
    public static long BlockCalls => Interlocked.Read(ref _blockCalls);
    static long _blockCalls;

    /// <summary>Threads to share a product over.</summary>
    static long Blocks => FewRowLinear.ThreadBlocks;

    /// <summary>
    /// Calls a script function with its numbers (eps, flags, head counts, blocks) as Scalars held until the call returns:
    /// TorchSharp turns a plain number into a temporary Scalar whose handle it passes on, and a collection during the
    /// call could finalise it (seen: "Scalar::toLong" failing inside attn_out_mlp under the server's load).
    /// </summary>
    static object Invoke(string function, params object?[] args)
    {
        var held = new List<Scalar>();
        for (int i = 0; i < args.Length; i++)
        {
            Scalar? s = args[i] switch { long l => l.ToScalar(), double d => d.ToScalar(), bool b => b.ToScalar(), _ => null };
            if (s is null) continue;
            held.Add(s);
            args[i] = s;
        }
        try { return Unit.Value.invoke(function, args!); }
        finally { foreach (var s in held) s.Dispose(); }
    }

    /// <summary>Norm, q/k/v projections and rotary positions of one token per row (see the class summary).</summary>
    public static (Tensor Q, Tensor K, Tensor V) AttentionIn(Tensor x, NormWeights norm, AttentionWeights a, (Tensor Cos, Tensor Sin)? rotary)
    {
        Interlocked.Increment(ref _blockCalls);
        return ((Tensor, Tensor, Tensor))Invoke("attn_in", x, norm.Weight, norm.Bias!, norm.Eps, norm.Rms,
            a.Q, a.QBias!, a.K!, a.KBias!, a.V!, a.VBias!, rotary?.Cos!, rotary?.Sin!, (long)a.Heads, (long)a.KvHeads, (long)a.HeadDim, Blocks);
    }

    /// <summary>Attention over the cached keys and values, output projection, residual, norm, MLP, residual.</summary>
    public static Tensor AttentionOutMlp(Tensor x, Tensor q, Tensor k, Tensor v, Tensor? mask, AttentionWeights a, NormWeights norm, MlpWeights m) =>
        (Tensor)Invoke("attn_out_mlp", x, q, k, v, mask!, a.Out, a.OutBias!, norm.Weight, norm.Bias!, norm.Eps, norm.Rms,
            m.Fc, m.FcBias!, m.Up!, m.UpBias!, m.Down, m.DownBias!, m.GeluTanh, (long)a.Heads, (long)a.KvHeads, (long)a.HeadDim, Blocks);
}

/// <summary>A norm's parameters: RMSNorm (weight only) or LayerNorm (weight, optional bias).</summary>
internal sealed record NormWeights(Tensor Weight, Tensor? Bias, double Eps, bool Rms);

/// <summary>Dense attention weights: Q is GPT's fused c_attn when K and V are null.</summary>
internal sealed record AttentionWeights(Tensor Q, Tensor? QBias, Tensor? K, Tensor? KBias, Tensor? V, Tensor? VBias, Tensor Out, Tensor? OutBias,
    int Heads, int KvHeads, int HeadDim);

/// <summary>Dense MLP weights: Up is set for the gated (SwiGLU) form.</summary>
internal sealed record MlpWeights(Tensor Fc, Tensor? FcBias, Tensor? Up, Tensor? UpBias, Tensor Down, Tensor? DownBias, bool GeluTanh);

/// <summary>A norm module whose parameters the scripted decoder can read.</summary>
internal interface IScriptableNorm
{
    NormWeights Weights { get; }
}
