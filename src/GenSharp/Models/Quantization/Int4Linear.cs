namespace GenSharp.Models.Quantization;

/// <summary>
/// A linear layer with int4 weights in groups along the input, in place of a dense projection (same widths):
/// y = x·Wᵀ + b with W = q·s + m per group, computed by libtorch's int4 CPU kernel on bfloat16 activations (its AVX2
/// path). The kernel wants the output rows in multiples of 16, so its packed matrix is padded with zero rows and the
/// product narrowed back. Inference only, CPU only.
/// </summary>
public sealed class Int4Linear : QuantizedLinear, Gpt.IScriptableProjection
{
    readonly Tensor _packed, _scalesAndZeros, _bias;                            // _bias: zeros when the layer has none
    readonly bool _hasBias;
    readonly int _groupSize;
    const long PackRows = 4096;

    /// <summary>From the saved layout: packed codes (N, K/2) uint8, scales and minimums (N, K/g), optional bias (N). The inputs are not kept.</summary>
    public Int4Linear(Tensor qweight, Tensor scales, Tensor mins, int groupSize, Tensor? bias)
        : base(nameof(Int4Linear), Rows(qweight, scales, mins, groupSize), qweight.shape[1] * 2, "int4")
    {
        _groupSize = groupSize;
        long padded = (OutFeatures + 15) / 16 * 16;
        using var _ = torch.no_grad();
        using (var scope = torch.NewDisposeScope())
        {
            // Packed a block of rows at a time, so that the int32 codes the kernel's packing wants stay small for a large
            // head; its layout is made of 64-row blocks, so blocks of a multiple of 64 rows pack the same as the whole.
            long block = padded % 64 == 0 ? PackRows : padded;
            var packed = new List<Tensor>();
            for (long start = 0; start < padded; start += block)
            {
                using var part = torch.NewDisposeScope();
                long rows = Math.Min(block, padded - start), real = Math.Clamp(OutFeatures - start, 0, rows);
                var codes = WeightQuantizer.UnpackInt4(qweight.narrow(0, start, real).cpu());           // (rows, K) in [0, 15]
                if (real < rows) codes = torch.cat(new[] { codes, torch.full(rows - real, InFeatures, 8, dtype: ScalarType.Int32) });
                packed.Add(QuantizedKernels.Int4Pack(codes.contiguous()).MoveToOuterDisposeScope());
            }
            _packed = (packed.Count == 1 ? packed[0] : torch.cat(packed)).MoveToOuterDisposeScope();
            var s = scales.cpu().to(ScalarType.Float32);
            var zero = mins.cpu().to(ScalarType.Float32) + 8 * s;                                       // the kernel computes (q − 8)·s + zero
            if (padded > OutFeatures)
            {
                s = torch.cat(new[] { s, torch.zeros(padded - OutFeatures, s.shape[1]) });               // padded rows: W = 0
                zero = torch.cat(new[] { zero, torch.zeros(padded - OutFeatures, s.shape[1]) });
            }
            _scalesAndZeros = torch.stack(new[] { s.t(), zero.t() }, 2).to(ScalarType.BFloat16).contiguous().MoveToOuterDisposeScope();  // (K/g, N, 2)
            _bias = (bias is null ? torch.zeros(OutFeatures) : bias.cpu().to(ScalarType.Float32).contiguous()).MoveToOuterDisposeScope();
            _hasBias = bias is not null;
        }
        foreach (var t in new[] { _packed, _scalesAndZeros, _bias }) t.DetachFromDisposeScope();
        // Buffers that are not saved (the saved layout is QuantizedDecoder's), so that sizes of the module's tensors count them.
        register_buffer("packed", _packed, persistent: false);
        register_buffer("scales_and_zeros", _scalesAndZeros, persistent: false);
        register_buffer("bias", _bias, persistent: false);
    }

    /// <summary>N, after checking the saved layout's shapes.</summary>
    static long Rows(Tensor qweight, Tensor scales, Tensor mins, int groupSize)
    {
        if (qweight.dtype != ScalarType.Byte || qweight.dim() != 2 || scales.dim() != 2 || !scales.shape.SequenceEqual(mins.shape)
            || scales.shape[0] != qweight.shape[0] || scales.shape[1] * groupSize != qweight.shape[1] * 2)
            throw new ArgumentException($"int4 weights are (N, K/2) uint8 with (N, K/{groupSize}) scales and minimums");
        return qweight.shape[0];
    }

    protected override IEnumerable<Tensor> Owned => new[] { _packed, _scalesAndZeros, _bias };

    int Gpt.IScriptableProjection.ScriptKind => 2;
    int Gpt.IScriptableProjection.ScriptGroup => _groupSize;
    bool Gpt.IScriptableProjection.ScriptHasBias => _hasBias;
    Tensor[] Gpt.IScriptableProjection.ScriptTensors => new[] { _packed, _scalesAndZeros, _bias };

    protected override Tensor Product(Tensor x) => QuantizedKernels.Int4Forward(x, _packed, _groupSize, _scalesAndZeros, _bias);
}
