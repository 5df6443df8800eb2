using GenSharp.Runtime;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A decoding step's pass through every decoder block, one new token per sequence, as a single TorchScript call:
/// libtorch's own interpreter calls the same ATen kernels as the eager path, but without a managed tensor object, a
/// dispose-scope entry and an interop crossing per operation, and the new keys and values go straight into the KV
/// cache's buffers. Decoding a small model is a few hundred such operations per token, each moving little data, so their
/// fixed cost is a large part of a step (SmolLM2-135M on 2 cores: docs/benchmarks.md, "Decoding speed"); one call for
/// the whole stack rather than two per block took a step of that model from ~56 to ~45 ms. Prefill and training stay
/// eager, and so does any step where a block's projection is neither a dense layer nor one of the low-bit layers
/// (<see cref="IScriptableProjection"/>; a LoRA adapter, say) or the cache has nowhere to put the token yet
/// (<see cref="IKvCache.PrepareOneTokenStep"/>).
/// </summary>
internal static class ScriptedDecode
{
    /// <summary>Environment variable that, set to 0, keeps decoding eager (to compare the two paths).</summary>
    public const string Variable = "GENSHARP_SCRIPTED_DECODE";

    /// <summary>Whether networks built from now on decode through the script where it applies (the environment's default).</summary>
    public static bool EnabledByDefault { get; } = Environment.GetEnvironmentVariable(Variable) != "0";

    // Compiled once per process, on first use; the source is fixed here and exercised by the tests.
    static readonly Lazy<torch.jit.CompilationUnit> Unit = new(() => torch.jit.compile(Quantization.QuantizedKernels.Products + Source),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Tensors per block in the script's flat list (see <see cref="BlockParts"/>).</summary>
    const int Stride = 46;

    /// <summary>Slots per projection in the script's flat list.</summary>
    public const int ProjectionSlots = 6;

    const string Source = """
def linear(x: Tensor, w: Tensor, b: Tensor, has_b: bool, blocks: int) -> Tensor:
    # x (R, K) -> (R, N): W·xᵀ (one row: W·x), with W's rows cut into `blocks` blocks multiplied as one batched product
    n = w.size(0)
    per = n // blocks
    if blocks > 1 and per >= 128:
        k = w.size(1)
        r = x.size(0)
        xt = x.t()
        even = per * blocks
        y = torch.bmm(w[:even].view(blocks, per, k), xt.unsqueeze(0).expand(blocks, k, r)).view(even, r)
        if even != n:
            y = torch.cat([y, torch.mm(w[even:], xt)], 0)
        y = y.t()
    elif x.size(0) == 1:
        if has_b:
            return torch.addmv(b, w, x.view(-1)).view(1, n)
        return torch.mv(w, x.view(-1)).view(1, n)
    else:
        y = torch.mm(w, x.t()).t()
    if has_b:
        y = y + b
    return y

def product(x: Tensor, ws: List[Tensor], o: int, kind: int, has_b: bool, blocks: int, group: int) -> Tensor:
    # the projection in slots ws[o ...]: 0 dense (w, b), 1 int8, 2 int4 (QuantizedKernels' products, compiled in above;
    # x in bfloat16 for int4, see act)
    if kind == 1:
        b: Optional[Tensor] = None
        if has_b:
            b = ws[o + 5]
        if x.size(0) == 1:
            return int8_one_row(x, ws[o], ws[o + 1], ws[o + 2], ws[o + 3], ws[o + 4], b)
        return int8_rows(x, ws[o], ws[o + 1], ws[o + 2], ws[o + 3], ws[o + 4], b)
    if kind == 2:
        b4: Optional[Tensor] = None
        if has_b:
            b4 = ws[o + 2]
        return int4_bf16(x, ws[o], group, ws[o + 1], ws[o + 2].size(0), b4)
    return linear(x, ws[o], ws[o + 1], has_b, blocks)

def act(x: Tensor, kind: int) -> Tensor:
    # a projection's input as its kernel takes it: bfloat16 for int4 (converted once for the projections sharing it)
    if kind == 2:
        return x.to(dtype=15)
    return x

def norm(x: Tensor, w: Tensor, b: Tensor, has_b: bool, eps: float, rms: bool) -> Tensor:
    if rms:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    if has_b:
        return torch.layer_norm(x, [x.size(-1)], w, b, eps)
    return torch.layer_norm(x, [x.size(-1)], w, None, eps)

def rotation(cos: Tensor, sin: Tensor) -> Tensor:
    # cos, sin (R, 1, D) -> (R, D, D): x·M = x ⊙ cos + rotate_half(x) ⊙ sin, rotate_half(x) = (−x₂, x₁) for the halves x₁, x₂
    d = cos.size(-1)
    half = d // 2
    eye = torch.eye(half, dtype=cos.dtype, device=cos.device)
    zero = torch.zeros(half, half, dtype=cos.dtype, device=cos.device)
    swap = torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)
    return torch.diag_embed(cos.view(-1, d)) + swap * sin

def blocks(x: Tensor, ws: List[Tensor], keys: List[Tensor], values: List[Tensor], rows: Tensor, pos: Tensor, at: int, first: int, end: int,
           mask: Optional[Tensor], cos: Optional[Tensor], sin: Optional[Tensor], eps: float, rms: bool, norm_bias: bool,
           fused: bool, qkv_bias: bool, out_bias: bool, gated: bool, gate_up: bool, mlp_bias: bool, gelu_tanh: bool,
           heads: int, kv_heads: int, d: int, threads: int, kind: int, group: int) -> Tensor:
    # x (B, 1, C) -> (B, 1, C). Block i's tensors are ws[46 i ... 46 i + 45]: norm 1 (w, b), then six slots each for q or
    # fused qkv, k, v and out, norm 2 (w, b), six slots each for fc (gate), up and down, every projection of kernel `kind`
    # (see product); absent ones are empty tensors (k and v when q's slots hold a fused qkv, up when gate_up: fc's slots
    # hold gate and up). keys/values[i]: the cache's buffers
    # (S, Hkv, capacity, D); the new token of row r goes to slot rows[r] at position pos[r] (at every row's position `at`
    # when they share one, else -1), and rows first ... first + B - 1
    # attend over their first `end` positions (mask (B, 1, 1, end), or None when each row's token is its last).
    b = x.size(0)
    c = x.size(2)
    hd = heads * d
    kd = kv_heads * d
    h = x.view(b, c)
    turn: Optional[Tensor] = None
    shared: Optional[Tensor] = None
    if cos is not None and sin is not None:
        turn = rotation(cos, sin)                                 # one rotation matrix per row position, for every layer
        if turn.size(0) == 1:
            shared = turn.view(d, d)                              # every row at one position: a plain product instead of a batched one
    for i in range(len(keys)):
        o = 46 * i
        n = act(norm(h, ws[o], ws[o + 1], norm_bias, eps, rms), kind)
        if fused:
            qkv = product(n, ws, o + 2, kind, qkv_bias, threads, group)
            q = qkv[:, :hd]
            k = qkv[:, hd:hd + kd]
            v = qkv[:, hd + kd:]
        else:
            q = product(n, ws, o + 2, kind, qkv_bias, threads, group)
            k = product(n, ws, o + 8, kind, qkv_bias, threads, group)
            v = product(n, ws, o + 14, kind, qkv_bias, threads, group)
        # q as the H / Hkv query heads sharing a key/value head, which attend as that many queries of it (the cache is read in place)
        if shared is not None:
            q = torch.mm(q.reshape(-1, d), shared).view(b, kv_heads, heads // kv_heads, d)
            k = torch.mm(k.reshape(-1, d), shared).view(b, kv_heads, d)
        else:
            k = k.reshape(b, kv_heads, d)
            if turn is not None:
                q = torch.matmul(q.reshape(b, heads, d), turn)
                k = torch.matmul(k, turn)
            q = q.reshape(b, kv_heads, heads // kv_heads, d)
        v = v.reshape(b, kv_heads, d)
        kb = keys[i]
        vb = values[i]
        if at < 0:
            kb[rows, :, pos] = k
            vb[rows, :, pos] = v
        if kb.size(0) != b:                                       # the step's rows are some of the cache's
            kb = kb.narrow(0, first, b)
            vb = vb.narrow(0, first, b)
        if at >= 0:
            kb.select(2, at).copy_(k)
            vb.select(2, at).copy_(v)
        y = torch.scaled_dot_product_attention(q, kb.narrow(2, 0, end), vb.narrow(2, 0, end), mask, 0.0, False)
        h = h + product(act(y.reshape(b, hd), kind), ws, o + 20, kind, out_bias, threads, group)
        n = act(norm(h, ws[o + 26], ws[o + 27], norm_bias, eps, rms), kind)
        f = product(n, ws, o + 28, kind, mlp_bias, threads, group)
        if gate_up:                                               # gate and up as one product (their rows in that order)
            half = f.size(1) // 2
            f = torch.silu(f[:, :half]) * f[:, half:]
        elif gated:
            f = torch.silu(f) * product(n, ws, o + 34, kind, mlp_bias, threads, group)
        elif gelu_tanh:
            f = torch.gelu(f, approximate='tanh')
        else:
            f = torch.gelu(f)
        h = h + product(act(f, kind), ws, o + 40, kind, mlp_bias, threads, group)
    return h.view(b, 1, c)
""" + "\n";                                     // TorchScript wants the last line ended

    /// <summary>Whether <paramref name="x"/> (B, T, C) is a decoding step the script takes (one token per row, CPU, float32, no gradients).</summary>
    public static bool Applies(Tensor x) =>
        x.shape[1] == 1 && x.shape[0] <= FewRowLinear.MaxRows && x.device_type == DeviceType.CPU
        && x.dtype == ScalarType.Float32 && !torch.is_grad_enabled();

    /// <summary>Blocks run through the script so far on this thread (tests check that the path was taken, or not).</summary>
    public static long BlockCalls => _blockCalls;
    [ThreadStatic] static long _blockCalls;

    // Stands for an absent weight or bias in the flat list (TorchScript lists hold tensors, not nulls).
    static readonly Tensor Absent = torch.empty(0).DetachFromDisposeScope();

    /// <summary>
    /// <paramref name="x"/> (B, 1, C) through every block of <paramref name="blocks"/> in one call, the new keys and values
    /// stored in <paramref name="cache"/> (the caller advances it); null when the script does not apply: x is not a decoding
    /// step, a block is training, its projections are not all of one kernel the script has (dense, int8, int4 — not LoRA),
    /// or the cache cannot take the step.
    /// </summary>
    public static Tensor? Blocks(IReadOnlyList<DecoderBlock> blocks, Tensor x, IKvCache? cache, (Tensor Cos, Tensor Sin)? rotary)
    {
        if (cache is null || blocks.Count == 0 || !Applies(x)) return null;
        var weights = new Tensor[Stride * blocks.Count];
        Layout? layout = null;
        for (int i = 0; i < blocks.Count; i++)
        {
            if (blocks[i].ScriptParts()?.Fill(weights, Stride * i) is not { } l) return null;
            layout ??= l;
            if (l != layout) return null;
        }
        using var step = cache.PrepareOneTokenStep(x.shape[0]);
        if (step is null) return null;
        using var scope = torch.NewDisposeScope();
        var c = layout!;
        Tensor? cos = rotary?.Cos.reshape(-1, 1, c.HeadDim), sin = rotary?.Sin.reshape(-1, 1, c.HeadDim);   // (1 or B, 1, D) over (B, H, D)
        // A low-bit one-row step runs on this thread alone: its many small kernels cost more in waking and waiting for a
        // second thread than they gain (SmolLM2-135M int8 on 2 cores: 10.2 → 9.5 ms a step, docs/benchmarks.md); a float
        // step streams its weights with every thread (one thread: 17.5 → 22 ms).
        using var serial = c.Kind != 0 && x.shape[0] == 1 ? TorchRuntime.OneThreadHere() : null;
        var y = (Tensor)Invoke("blocks", x, weights, step.Keys, step.Values, step.Rows, step.Positions, (long)(step.SharedPosition ?? -1),
            (long)step.First, (long)step.End,
            step.Mask, cos, sin, c.Eps, c.Rms, c.NormBias, c.Fused, c.QkvBias, c.OutBias, c.Gated, c.GateUpJoined, c.MlpBias, c.GeluTanh,
            (long)c.Heads, (long)c.KvHeads, (long)c.HeadDim, FewRowLinear.ThreadBlocks, (long)c.Kind, (long)c.Group);
        _blockCalls += blocks.Count;
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>What decides the script's branches; every block of a step must have the same.</summary>
    internal sealed record Layout(double Eps, bool Rms, bool NormBias, bool Fused, bool QkvBias, bool OutBias, bool Gated, bool GateUpJoined, bool MlpBias, bool GeluTanh,
        int Heads, int KvHeads, int HeadDim, int Kind, int Group);

    static object Invoke(string function, params object?[] args) => Unit.Value.Invoke(function, args);

    /// <summary>One block's norms and projections, as the scripted decoder takes them.</summary>
    internal sealed record BlockParts(NormWeights Norm1, AttentionWeights Attention, NormWeights Norm2, MlpWeights Mlp)
    {
        /// <summary>
        /// Writes the block's <see cref="Stride"/> tensors into <paramref name="into"/> from <paramref name="at"/> (<see cref="Absent"/>
        /// for missing ones) and returns its layout; null when the script cannot run it (norms that differ, projections of
        /// different kernels or one it does not have).
        /// </summary>
        internal Layout? Fill(Tensor[] into, int at)
        {
            if (Norm1.Rms != Norm2.Rms || Norm1.Eps != Norm2.Eps || (Norm1.Bias is null) != (Norm2.Bias is null)) return null;
            var a = Attention;
            // Parts of one joined int8 layer run as that layer: q, k and v as a fused qkv, gate and up as one product.
            var qkv = a.K is null ? null : Joint(a.Q, a.K, a.V);
            var gateUp = Mlp.Up is null ? null : Joint(Mlp.Fc, Mlp.Up);
            var projections = new (nn.Module<Tensor, Tensor>? Module, int Offset)[]
            {
                (qkv ?? a.Q, 2), (qkv is null ? a.K : null, 8), (qkv is null ? a.V : null, 14), (a.Out, 20),
                (gateUp ?? Mlp.Fc, 28), (gateUp is null ? Mlp.Up : null, 34), (Mlp.Down, 40),
            };
            int kind = -1, group = 0;
            bool?[] bias = new bool?[projections.Length];
            Array.Fill(into, Absent, at, Stride);
            (into[at], into[at + 1], into[at + 26], into[at + 27]) = (Norm1.Weight, Norm1.Bias ?? Absent, Norm2.Weight, Norm2.Bias ?? Absent);
            for (int p = 0; p < projections.Length; p++)
            {
                var (module, offset) = projections[p];
                if (module is null) continue;
                int k;
                switch (module)
                {
                    case TorchSharp.Modules.Linear dense:
                        (k, into[at + offset], into[at + offset + 1], bias[p]) = (0, dense.weight!, dense.bias ?? Absent, dense.bias is not null);
                        break;
                    case Quantization.Int8Linear { Joint: not null }:
                        return null;                                                           // a part met without its siblings
                    case IScriptableProjection low when low.ScriptTensors.Length <= ProjectionSlots:
                        if (kind >= 0 && low.ScriptGroup != group) return null;
                        (k, group, bias[p]) = (low.ScriptKind, low.ScriptGroup, low.ScriptHasBias);
                        low.ScriptTensors.CopyTo(into, at + offset);
                        break;
                    default:
                        return null;                                                           // LoRA and other stand-ins
                }
                if (kind >= 0 && k != kind) return null;
                kind = k;
            }
            // biases go in by group (q/k/v, out, MLP), so the group's layers must agree
            bool Agree(params int[] ps) => ps.All(p => projections[p].Module is null || bias[p] == bias[ps[0]]);
            if (!Agree(0, 1, 2) || !Agree(4, 5, 6)) return null;
            return new(Norm1.Eps, Norm1.Rms, Norm1.Bias is not null, a.K is null || qkv is not null, bias[0] ?? false, bias[3] ?? false, Mlp.Up is not null,
                gateUp is not null, bias[4] ?? false, Mlp.GeluTanh, a.Heads, a.KvHeads, a.HeadDim, kind, group);
        }

        /// <summary>The joined int8 layer whose parts the projections are, in order (not through an adapter); else null.</summary>
        static Quantization.Int8Linear? Joint(params nn.Module<Tensor, Tensor>?[] parts) =>
            parts.All(p => p is Quantization.Int8Linear) ? Projection.JointOf(parts) : null;
    }
}

/// <summary>A norm's parameters: RMSNorm (weight only) or LayerNorm (weight, optional bias).</summary>
internal sealed record NormWeights(Tensor Weight, Tensor? Bias, double Eps, bool Rms);

/// <summary>Attention projections and head layout: Q is GPT's fused c_attn when K and V are null.</summary>
internal sealed record AttentionWeights(nn.Module<Tensor, Tensor> Q, nn.Module<Tensor, Tensor>? K, nn.Module<Tensor, Tensor>? V,
    nn.Module<Tensor, Tensor> Out, int Heads, int KvHeads, int HeadDim);

/// <summary>An MLP's projections: Up is set for the gated (SwiGLU) form.</summary>
internal sealed record MlpWeights(nn.Module<Tensor, Tensor> Fc, nn.Module<Tensor, Tensor>? Up, nn.Module<Tensor, Tensor> Down, bool GeluTanh);

/// <summary>
/// A projection other than a dense layer that the scripted decoder can run (the low-bit layers): which of the script's
/// kernels (<see cref="ScriptedDecode"/>'s <c>product</c>), the tensors it takes in that kernel's order, and the int4 group size.
/// </summary>
internal interface IScriptableProjection
{
    /// <summary>1: FBGEMM's int8 kernel (shape, packed, column sums, zeros, scales, bias); 2: the int4 kernel (packed, scales and zeros, bias (N), zeros when it has none).</summary>
    int ScriptKind { get; }

    /// <summary>Group size of an int4 layer (0 otherwise).</summary>
    int ScriptGroup { get; }

    /// <summary>The kernel's tensors, at most <see cref="ScriptedDecode.ProjectionSlots"/>.</summary>
    Tensor[] ScriptTensors { get; }

    /// <summary>Whether the layer has a bias (its tensor is then added; without one, the kernel's tensor is zeros and skipped).</summary>
    bool ScriptHasBias { get; }
}

/// <summary>A norm module whose parameters the scripted decoder can read.</summary>
internal interface IScriptableNorm
{
    NormWeights Weights { get; }
}
