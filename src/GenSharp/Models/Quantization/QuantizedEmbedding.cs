namespace GenSharp.Models.Quantization;

/// <summary>
/// Token lookups from a quantized head's saved codes, for a head tied to the token embedding: the looked-up rows are
/// dequantized as <see cref="WeightQuantizer"/> defines them (int8: q·s; int4: q·s + m per group), so the float32 table
/// is not kept beside the quantized head. The codes are its own (the kernels' packed layouts cannot be read back per row):
/// copies, or, for a loaded model, the file's codes mapped from disk (<see cref="Checkpoints.SafetensorsReader.Map"/>), so
/// that only the rows of tokens seen are resident. A few rows are dequantized per decoding step.
/// </summary>
public sealed class QuantizedEmbedding : nn.Module<Tensor, Tensor>
{
    readonly Tensor _codes, _scales;
    readonly Tensor? _mins;
    readonly long _width;

    /// <summary>int8: codes (V, C) int8 and scales (V). int4: packed codes (V, C/2) uint8, scales and minimums (V, C/g). The inputs are copied.</summary>
    public QuantizedEmbedding(Tensor codes, Tensor scales, Tensor? mins) : this(codes, scales, mins, adopt: false) { }

    /// <summary>As the public constructor; with <paramref name="adopt"/>, CPU tensors of the final dtypes are kept as they are (detached from any dispose scope; the caller must not dispose them).</summary>
    internal QuantizedEmbedding(Tensor codes, Tensor scales, Tensor? mins, bool adopt) : base(nameof(QuantizedEmbedding))
    {
        bool int4 = mins is not null;
        if (int4 ? codes.dtype != ScalarType.Byte || scales.dim() != 2 || !scales.shape.SequenceEqual(mins!.shape)
                 : codes.dtype != ScalarType.Int8 || scales.dim() != 1)
            throw new ArgumentException("quantized embedding rows are int8 codes with one scale each, or packed int4 codes with scales and minimums per group");
        using var _ = torch.no_grad();
        static Tensor Own(Tensor t, bool adopt) =>
            (adopt && t.device_type == DeviceType.CPU && t.is_contiguous() && t.dtype is ScalarType.Int8 or ScalarType.Byte or ScalarType.Float32
                ? t : t.cpu().contiguous().clone()).DetachFromDisposeScope();
        _codes = Own(codes, adopt);
        _scales = Own(scales.dtype == ScalarType.Float32 ? scales : scales.to(ScalarType.Float32), adopt);
        _mins = mins is null ? null : Own(mins.dtype == ScalarType.Float32 ? mins : mins.to(ScalarType.Float32), adopt);
        _width = int4 ? codes.shape[1] * 2 : codes.shape[1];
        // Not saved (the saved layout is the head's, QuantizedDecoder's), but counted among the module's tensors.
        register_buffer("codes", _codes, persistent: false);
        register_buffer("scales", _scales, persistent: false);
        if (_mins is not null) register_buffer("mins", _mins, persistent: false);
    }

    // Registered by hand above: TorchSharp's field registration would save the buffers.
    protected override void RegisterComponents() { }

    /// <summary>Rows (V).</summary>
    public long Rows => _codes.shape[0];

    /// <summary>Token ids (…) → float32 vectors (…, C), without gradients (the table is frozen).</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var ids = tokens.reshape(-1).to(_codes.device);                                          // (N)
        var rows = _mins is null
            ? WeightQuantizer.DequantizeInt8(_codes.index_select(0, ids), _scales.index_select(0, ids))
            : WeightQuantizer.DequantizeInt4(_codes.index_select(0, ids), _scales.index_select(0, ids), _mins.index_select(0, ids));
        var shape = tokens.shape.Append(_width).ToArray();
        return rows.reshape(shape).to(tokens.device).MoveToOuterDisposeScope();                  // (…, C)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _codes.Dispose();
            _scales.Dispose();
            _mins?.Dispose();
        }
        base.Dispose(disposing);
    }
}
