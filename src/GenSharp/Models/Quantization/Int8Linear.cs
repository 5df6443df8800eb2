namespace GenSharp.Models.Quantization;

/// <summary>
/// A linear layer with int8 weights, in place of a dense projection (same widths): y = x·(q·s)ᵀ + b, computed by FBGEMM's
/// u8·s8 kernel on the CPU. The activations are quantized to uint8 as the kernel runs (as PyTorch's dynamic quantization
/// does), per row: a row of several is divided by its largest magnitude first so that each gets the full 8-bit range.
/// FBGEMM's AVX2 kernel adds pairs of u8·s8 products in int16 (vpmaddubsw), which saturates for |q| above 64, so the
/// saved codes (−127 … 127) are halved when packed (|q| ≤ 63, scale doubled): the kernel's layout is made at load and
/// is platform-specific; the saved one is not. Inference only, CPU only.
/// </summary>
public sealed class Int8Linear : QuantizedLinear, Gpt.IScriptableProjection
{
    readonly Tensor _packed, _shape, _colSums, _zeros, _scales, _bias;          // _bias: zeros when the layer has none
    readonly bool _hasBias;
    readonly Shared? _joint;                                                    // a part: the joined layer holding its rows
    bool _released;                                                             // a part has given up its share of the joined layer

    /// <summary>A joined layer and how many parts still use it (the last one disposed disposes it).</summary>
    sealed class Shared(Int8Linear layer, int parts)
    {
        public Int8Linear Layer { get; } = layer;
        public int Parts = parts;
    }

    /// <summary>From the saved layout: codes (N, K) int8, scales (N), optional bias (N). The inputs are not kept.</summary>
    public Int8Linear(Tensor qweight, Tensor scales, Tensor? bias) : this(qweight, scales, bias, consumeCodes: false) { }

    /// <summary>
    /// As the public constructor; with <paramref name="consumeCodes"/> the codes are halved where they are (a CPU,
    /// contiguous <paramref name="qweight"/> is changed), so that loading holds one copy of a layer's codes beside FBGEMM's
    /// packing instead of two: for a 49,152-row head, 28 MB less at the peak.
    /// </summary>
    internal Int8Linear(Tensor qweight, Tensor scales, Tensor? bias, bool consumeCodes) : base(nameof(Int8Linear), Rows(qweight, scales), qweight.shape[1], "int8")
    {
        using var _ = torch.no_grad();
        using (var scope = torch.NewDisposeScope())
        {
            var q = consumeCodes ? qweight.cpu().contiguous() : qweight.cpu().contiguous().clone();
            Halve(q);
            _packed = QuantizedKernels.Int8Pack(q).MoveToOuterDisposeScope();
            _colSums = RowSums(q).MoveToOuterDisposeScope();                                        // the kernel's zero-point correction
            _scales = (scales.cpu().to(ScalarType.Float32) * 2).contiguous().MoveToOuterDisposeScope();
            _bias = (bias is null ? torch.zeros(OutFeatures) : bias.cpu().to(ScalarType.Float32).contiguous()).MoveToOuterDisposeScope();
            _hasBias = bias is not null;
        }
        _zeros = torch.zeros(OutFeatures).DetachFromDisposeScope();
        // The kernel reads only the sizes of its weight argument: a broadcast view of one byte stands in for it.
        _shape = torch.zeros(1, 1, dtype: ScalarType.Int8).expand(OutFeatures, InFeatures).DetachFromDisposeScope();
        foreach (var t in new[] { _packed, _colSums, _scales, _bias }) t.DetachFromDisposeScope();
        // Buffers that are not saved (the saved layout is QuantizedDecoder's), so that sizes of the module's tensors count
        // them; the packed matrix is opaque to libtorch, so its N·K bytes are counted through the shape view.
        register_buffer("packed_shape", _shape, persistent: false);
        register_buffer("col_sums", _colSums, persistent: false);
        register_buffer("scales", _scales, persistent: false);
        register_buffer("bias", _bias, persistent: false);
    }

    /// <summary>
    /// Layers that read the same input (q, k and v; gate and up), as parts of one packed matrix holding their rows in
    /// order: one kernel call computes them all (<see cref="Gpt.Projection.Joined"/>, and the scripted decoder), where
    /// each call quantizes the input again and pays the kernel's fixed cost. The results are the separate layers' to the
    /// bit (the input is quantized alike, and each output row reads only its own codes). A part called on its own
    /// computes every part's rows and keeps its own. The parts' codes are copied into the joined matrix, not changed.
    /// </summary>
    internal static Int8Linear[] Join(IReadOnlyList<(Tensor QWeight, Tensor Scales, Tensor? Bias)> parts)
    {
        if (parts.Count < 2) throw new ArgumentException("joining takes two layers or more", nameof(parts));
        long k = parts[0].QWeight.shape[1];
        if (parts.Any(p => p.QWeight.dim() != 2 || p.QWeight.shape[1] != k) || parts.Any(p => (p.Bias is null) != (parts[0].Bias is null)))
            throw new ArgumentException("joined layers have one input width, and all or none have a bias", nameof(parts));
        Int8Linear whole;
        using (var scope = torch.NewDisposeScope())
        {
            var codes = torch.cat(parts.Select(p => { Rows(p.QWeight, p.Scales); return p.QWeight.cpu(); }).ToArray(), 0);
            var scales = torch.cat(parts.Select(p => p.Scales.cpu().to(ScalarType.Float32)).ToArray(), 0);
            var bias = parts[0].Bias is null ? null : torch.cat(parts.Select(p => p.Bias!.cpu().to(ScalarType.Float32)).ToArray(), 0);
            whole = new Int8Linear(codes, scales, bias, consumeCodes: true);
        }
        var shared = new Shared(whole, parts.Count);
        var result = new Int8Linear[parts.Count];
        long offset = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            result[i] = new Int8Linear(shared, offset, parts[i].QWeight.shape[0]);
            offset += parts[i].QWeight.shape[0];
        }
        return result;
    }

    /// <summary>Rows [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="rows"/>) of a joined layer.</summary>
    Int8Linear(Shared joint, long offset, long rows) : base(nameof(Int8Linear), rows, joint.Layer.InFeatures, "int8")
    {
        (_joint, JointOffset) = (joint, offset);
        var whole = joint.Layer;
        _hasBias = whole._hasBias;
        _packed = whole._packed;                                          // not owned: the joined layer's
        _zeros = whole._zeros;
        _colSums = whole._colSums.narrow(0, offset, rows).DetachFromDisposeScope();
        _scales = whole._scales.narrow(0, offset, rows).DetachFromDisposeScope();
        _bias = whole._bias.narrow(0, offset, rows).DetachFromDisposeScope();
        _shape = torch.zeros(1, 1, dtype: ScalarType.Int8).expand(rows, InFeatures).DetachFromDisposeScope();
        register_buffer("packed_shape", _shape, persistent: false);
        register_buffer("col_sums", _colSums, persistent: false);
        register_buffer("scales", _scales, persistent: false);
        register_buffer("bias", _bias, persistent: false);
    }

    /// <summary>The joined layer whose packed matrix holds this layer's rows (from <see cref="JointOffset"/>), or null.</summary>
    internal Int8Linear? Joint => _joint?.Layer;

    /// <summary>This layer's first row in <see cref="Joint"/>.</summary>
    internal long JointOffset { get; }

    /// <summary>N, after checking the saved layout's shapes.</summary>
    static long Rows(Tensor qweight, Tensor scales)
    {
        if (qweight.dtype != ScalarType.Int8 || qweight.dim() != 2 || scales.shape.Length != 1 || scales.shape[0] != qweight.shape[0])
            throw new ArgumentException("int8 weights are (N, K) int8 codes with N scales");
        return qweight.shape[0];
    }

    /// <summary>
    /// q ← ⌈q / 2⌉ = q − ⌊q / 2⌋ (halves, rounding half up) clamped to ±63, in place, a block of rows at a time (each
    /// block's ⌊q / 2⌋ is the only temporary).
    /// </summary>
    static void Halve(Tensor q)
    {
        const long Block = 1024;
        for (long start = 0; start < q.shape[0]; start += Block)
        {
            using var scope = torch.NewDisposeScope();
            var part = q.narrow(0, start, Math.Min(Block, q.shape[0] - start));
            part.sub_(part.floor_divide(2)).clamp_(-63, 63);
        }
    }

    /// <summary>Σₖ q[n, k] as int32 (N), a block of rows at a time: summing all at once widens the whole matrix first.</summary>
    static Tensor RowSums(Tensor q)
    {
        const long Block = 1024;
        var sums = torch.empty(q.shape[0], dtype: ScalarType.Int32);
        for (long start = 0; start < q.shape[0]; start += Block)
        {
            using var scope = torch.NewDisposeScope();
            long rows = Math.Min(Block, q.shape[0] - start);
            sums.narrow(0, start, rows).copy_(q.narrow(0, start, rows).to(ScalarType.Int32).sum(1));
        }
        return sums;
    }

    protected override IEnumerable<Tensor> Owned =>
        _joint is null ? new[] { _packed, _shape, _colSums, _zeros, _scales, _bias } : new[] { _shape, _colSums, _scales, _bias };

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing || _joint is null || _released) return;
        _released = true;
        if (Interlocked.Decrement(ref _joint.Parts) == 0) _joint.Layer.Dispose();
    }

    int Gpt.IScriptableProjection.ScriptKind => 1;
    int Gpt.IScriptableProjection.ScriptGroup => 0;
    bool Gpt.IScriptableProjection.ScriptHasBias => _hasBias;
    // A part's packed matrix is the joined layer's, which the script runs in its place (ScriptedDecode.BlockParts.Fill).
    Tensor[] Gpt.IScriptableProjection.ScriptTensors => _joint is null
        ? new[] { _shape, _packed, _colSums, _zeros, _scales, _bias }
        : throw new InvalidOperationException("a joined layer's part runs in the script as the joined layer");

    protected override Tensor Product(Tensor x)
    {
        if (_joint is not null)
        {
            using var all = _joint.Layer.Product(x);
            return all.narrow(-1, JointOffset, OutFeatures).contiguous();
        }
        long rows = x.numel() / Math.Max(1, InFeatures);
        var f = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        return QuantizedKernels.Int8Forward(f, _shape, _packed, _colSums, _zeros, _scales, _bias, perRow: rows > 1);
    }
}
