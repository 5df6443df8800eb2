using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A linear layer's product for inference on few rows (decoding: one token per sequence). libtorch's CPU GEMM computes
/// x·Wᵀ for a handful of rows up to 2.4× slower than W·xᵀ (measured on SmolLM2-135M's matrices, 2 cores: 4 rows of the
/// 30 layers 112 → 46 ms; from about 128 rows the two are even), so with gradients off and at most
/// <see cref="MaxRows"/> rows the product is taken the other way round. Same values up to float rounding.
/// </summary>
internal static class FewRowLinear
{
    /// <summary>Most rows (tokens × sequences) computed as W·xᵀ.</summary>
    public const long MaxRows = 64;

    /// <summary><paramref name="layer"/>(x) for x (…, K).</summary>
    public static Tensor Forward(Linear layer, Tensor x) => Forward(x, layer.weight!, layer.bias);

    /// <summary>x (…, K) · <paramref name="weight"/> (N, K)ᵀ + <paramref name="bias"/> → (…, N).</summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        long k = x.shape[^1], rows = x.numel() / Math.Max(1, k);
        if (rows > MaxRows || torch.is_grad_enabled() || x.device_type != DeviceType.CPU)
            return nn.functional.linear(x, weight, bias);
        var y = weight.mm(x.reshape(rows, k).t()).t();                                     // (rows, N)
        if (bias is not null) y = y + bias;
        var shape = x.shape.ToArray();
        shape[^1] = weight.shape[0];
        return y.reshape(shape);
    }
}
