using System.Text;

namespace GenSharp.Models.Quantization;

/// <summary>
/// libtorch's low-bit matrix kernels, which TorchSharp does not wrap, reached through TorchScript functions compiled once
/// (<see cref="torch.jit.compile"/>; one interop call per product, ~8 µs of overhead measured on 2 cores). Every argument
/// is a tensor: a number passed to a script becomes a temporary Scalar that a GC could free during the call.
/// <list type="bullet">
/// <item>int8: FBGEMM's packed u8·s8 GEMM (<c>fbgemm_pack_quantized_matrix</c>, <c>fbgemm_linear_int8_weight_fp32_activation</c>),
/// activations quantized to uint8 per call. On AVX2 it is the fast one: <c>_weight_int8pack_mm</c> has a vector path
/// only for AVX-512 and ran 10–20× slower than float32 here.</item>
/// <item>int4: <c>_convert_weight_to_int4pack_for_cpu</c> + <c>_weight_int4pack_mm_for_cpu</c>, with bfloat16 activations
/// (its AVX2 path; float32 activations ran ~40× slower).</item>
/// </list>
/// </summary>
internal static class QuantizedKernels
{
    static readonly Lazy<torch.jit.CompilationUnit> Unit = new(Compile, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// The products themselves, as TorchScript functions that the scripted decoder (<see cref="Gpt.ScriptedDecode"/>) compiles
    /// into its own source too: <c>int8_one_row</c> and <c>int8_rows</c> (x (…, K), quantized as is, or each row divided by
    /// its largest magnitude first), <c>int4_bf16</c> (x (R, K) already in bfloat16, so that the inputs of q, k and v, or
    /// of gate and up, are converted once) and <c>int4_rows</c> (x (R, K) float32). Bias is None when the layer has none
    /// (the decoder's one-token steps are many small operations, so an addition of zeros is not free); the eager
    /// callers here pass the layer's zeros instead, keeping to tensor arguments (see above).
    /// </summary>
    internal const string Products = """
def int8_one_row(x, shape, packed, col_sums, zeros, scales, bias: Optional[Tensor]):
    y = torch.fbgemm_linear_int8_weight_fp32_activation(x, shape, packed, col_sums, 1.0, 0, zeros)
    if bias is None:
        return y.mul_(scales)
    return torch.addcmul(bias, y, scales)

def int8_rows(x, shape, packed, col_sums, zeros, scales, bias: Optional[Tensor]):
    r = x.abs().amax(-1, True).clamp_min(1e-30)
    y = torch.fbgemm_linear_int8_weight_fp32_activation(x / r, shape, packed, col_sums, 1.0, 0, zeros).mul_(r)
    if bias is None:
        return y.mul_(scales)
    return torch.addcmul(bias, y, scales)

def int4_bf16(xb: Tensor, packed: Tensor, group: int, scales_zeros: Tensor, n: int, bias: Optional[Tensor]) -> Tensor:
    # the kernel's rows are padded to a multiple of 16: the first n are the layer's
    y = torch._weight_int4pack_mm_for_cpu(xb, packed, group, scales_zeros)
    if y.size(1) != n:
        y = y.narrow(1, 0, n)
    y = y.to(dtype=6)
    if bias is not None:
        y = y + bias
    return y

def int4_rows(x: Tensor, packed: Tensor, group: int, scales_zeros: Tensor, bias: Tensor) -> Tensor:
    return int4_bf16(x.to(dtype=15), packed, group, scales_zeros, bias.size(0), bias)

""";

    static torch.jit.CompilationUnit Compile()
    {
        var script = new StringBuilder(Products).Append("""
            def int8_pack(q):
                return torch.fbgemm_pack_quantized_matrix(q)

            def int4_pack(codes):
                return torch._convert_weight_to_int4pack_for_cpu(codes, 2)

            """);
        // One function per group size: the kernel takes it as an int, which would be a Scalar argument.
        foreach (int g in QuantizationSpec.GroupSizes)
            script.Append($$"""
                def int4_g{{g}}(x, packed, scales_zeros, bias):
                    return int4_rows(x.reshape(-1, x.size(-1)), packed, {{g}}, scales_zeros, bias).reshape(x.size()[:-1] + [bias.size(0)])


                """);
        return torch.jit.compile(script.ToString());
    }

    /// <summary>
    /// <paramref name="kernel"/>(x), differentiable in x when x needs a gradient (adapters trained over a quantized base):
    /// libtorch's low-bit kernels have no derivative (the int4 one refuses backward; FBGEMM's int8 one passes a wrong
    /// gradient), so the value is the kernel's and the gradient is that of the layer's dequantized weights, read back
    /// through the kernel itself as kernel(I) − kernel(0) (identity rows are exact in the kernels' activation formats).
    /// The weights are rebuilt on each such call and not kept, so training costs K extra rows per layer, not memory.
    /// </summary>
    public static Tensor WithInputGradient(Tensor x, long inFeatures, Func<Tensor, Tensor> kernel)
    {
        if (!torch.is_grad_enabled() || !x.requires_grad) return kernel(x);
        using var scope = torch.NewDisposeScope();
        Tensor value, weightT;
        using (torch.no_grad())
        {
            value = kernel(x.detach());
            using var eye = torch.eye(inFeatures, dtype: ScalarType.Float32, device: x.device);
            using var zero = torch.zeros(1, inFeatures, dtype: ScalarType.Float32, device: x.device);
            weightT = kernel(eye) - kernel(zero);                                          // (K, N) = Wᵀ
        }
        var delta = x - x.detach();                                                        // zero, with x's gradient
        return (value + delta.to(ScalarType.Float32).matmul(weightT)).MoveToOuterDisposeScope();
    }

    static Tensor Call(string function, params object[] args) => (Tensor)Unit.Value.invoke(function, args);

    /// <summary>FBGEMM's packed form of int8 weights (N, K) with |q| ≤ 63 (an opaque tensor that owns the packed matrix).</summary>
    public static Tensor Int8Pack(Tensor q) => Call("int8_pack", q);

    /// <summary>x (…, K) → (…, N): bias + scales ⊙ (x·qᵀ), x quantized per call; by rows when <paramref name="perRow"/>.</summary>
    public static Tensor Int8Forward(Tensor x, Tensor shape, Tensor packed, Tensor colSums, Tensor zeros, Tensor scales, Tensor bias, bool perRow) =>
        Call(perRow ? "int8_rows" : "int8_one_row", x, shape, packed, colSums, zeros, scales, bias);

    /// <summary>The int4 kernel's packed form of codes (N, K) int32 in [0, 15], N a multiple of 16.</summary>
    public static Tensor Int4Pack(Tensor codes) => Call("int4_pack", codes);

    /// <summary>x (…, K) → (…, N) with N = bias.size(0) (the packed rows may be padded beyond it).</summary>
    public static Tensor Int4Forward(Tensor x, Tensor packed, int groupSize, Tensor scalesAndZeros, Tensor bias) =>
        Call($"int4_g{groupSize}", x, packed, scalesAndZeros, bias);
}
