using GenSharp.Models.Quantization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>The saved int8/int4 codes against float64 arithmetic done here, and the kernels' products against x·Wᵀ in float64.</summary>
public class WeightQuantizerTests
{
    static Tensor RandomWeight(long n, long k, int seed)
    {
        var g = new torch.Generator((ulong)seed);
        return torch.randn(new[] { n, k }, generator: g) * 0.05;
    }

    [Fact]
    public void Int8_codes_are_the_nearest_multiples_of_a_per_row_scale()
    {
        using var w = RandomWeight(24, 40, 1);
        w[3].zero_();                                                                  // a row of zeros: scale 1, codes 0
        var (q, s) = WeightQuantizer.QuantizeInt8(w);
        var wd = w.to(ScalarType.Float64);
        var absMax = wd.abs().amax(new long[] { 1 });
        for (int n = 0; n < 24; n++)
        {
            double expected = n == 3 ? 1.0 : absMax[n].item<double>() / 127;
            Assert.Equal(expected, s[n].item<float>(), expected * 1e-6);
        }
        var err = (wd - q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1)).abs();
        Assert.True((err <= s.to(ScalarType.Float64).unsqueeze(1) * 0.5 + 1e-9).all().item<bool>());
        Assert.Equal(127, q.abs().to(ScalarType.Int32).amax(new long[] { 1 })[0].item<int>());   // the largest weight of a row is ±127
        Assert.Equal(0, q[3].abs().sum().item<long>());
        Assert.True(WeightQuantizer.DequantizeInt8(q, s).allclose(q.to(ScalarType.Float32) * s.unsqueeze(1)));
    }

    [Fact]
    public void Int4_codes_pack_two_per_byte_and_round_within_half_a_step_of_each_group()
    {
        const int g = 32;
        using var w = RandomWeight(16, 96, 2);
        var (packed, s, m) = WeightQuantizer.QuantizeInt4(w, g);
        Assert.Equal(new long[] { 16, 48 }, packed.shape);
        Assert.Equal(new long[] { 16, 3 }, s.shape);
        var wd = w.to(ScalarType.Float64).view(16, 3, g);
        var min = wd.amin(new long[] { 2 });
        var step = (wd.amax(new long[] { 2 }) - min) / 15;
        Assert.True(s.to(ScalarType.Float64).allclose(step, rtol: 1e-5));
        Assert.True(m.to(ScalarType.Float64).allclose(min, rtol: 1e-6));
        // The byte of inputs 2j and 2j + 1 is code(2j) + 16·code(2j + 1), the codes computed here in float64.
        var codes = ((wd - min.unsqueeze(2)) / step.unsqueeze(2)).round().clamp(0, 15).view(16, 96).to(ScalarType.Int64);
        var bytes = codes.view(16, 48, 2).select(2, 0) + 16 * codes.view(16, 48, 2).select(2, 1);
        Assert.True(packed.to(ScalarType.Int64).equal(bytes).all().item<bool>());
        var back = WeightQuantizer.DequantizeInt4(packed, s, m).to(ScalarType.Float64).view(16, 3, g);
        Assert.True(((back - wd).abs() <= step.unsqueeze(2) * 0.5 + 1e-7).all().item<bool>());
    }

    /// <summary>
    /// Int8Linear (FBGEMM) against x·(q·s)ᵀ + b in float64. What may differ: the codes halved for the AVX2 kernel (≤ s per
    /// weight) and the activations rounded to 8 bits (≤ one step, |x|max·2/255, per input). A weight whose codes are all
    /// ±127 makes the kernel's int16 pair sums saturate unless the codes are halved.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void Int8_layer_product_is_within_the_rounding_bound_of_the_float64_product(int rows)
    {
        using var w = RandomWeight(40, 64, 3);
        w[0] = torch.sign(torch.randn(64)) * 0.05;                                    // every code ±127
        using var b = torch.linspace(-1, 1, 40);
        var (q, s) = WeightQuantizer.QuantizeInt8(w);
        using var layer = new Int8Linear(q, s, b);
        var g = new torch.Generator(7);
        using var x = torch.randn(new long[] { 1, rows, 64 }, generator: g) * torch.linspace(0.1, 3, rows).view(1, rows, 1);
        using var _ = torch.no_grad();
        var y = layer.forward(x).to(ScalarType.Float64);
        Assert.Equal(new long[] { 1, rows, 40 }, y.shape);
        var xd = x.to(ScalarType.Float64).view(rows, 64);
        var wq = q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1);                  // (N, K)
        var reference = xd.mm(wq.t()) + b.to(ScalarType.Float64);
        var xStep = xd.abs().amax(new long[] { 1 }, keepdim: true) * 2 / 255;                       // (rows, 1)
        var bound = xd.abs().mm(s.to(ScalarType.Float64).unsqueeze(0).expand(64, 40)) + xStep * wq.abs().sum(1).unsqueeze(0) * 2 + 1e-5;
        var err = (y.view(rows, 40) - reference).abs();
        Assert.True((err <= bound).all().item<bool>(), $"max error {err.max().item<double>()}, bound there {bound.flatten()[err.argmax()].item<double>()}");
        // The bound is tight enough to mean something: the float product of the unquantized weights is outside it somewhere.
        Assert.True(err.max().item<double>() < 0.1 * reference.abs().max().item<double>());
    }

    /// <summary>Int4Linear (libtorch's int4 kernel, bfloat16 activations) against x·(q·s + m)ᵀ + b in float64; 40 rows test the padding to 16.</summary>
    [Fact]
    public void Int4_layer_product_matches_the_float64_product_of_the_dequantized_weights()
    {
        using var w = RandomWeight(40, 64, 4);
        using var b = torch.linspace(-1, 1, 40);
        var (q, s, m) = WeightQuantizer.QuantizeInt4(w, 32);
        using var layer = new Int4Linear(q, s, m, 32, b);
        var g = new torch.Generator(8);
        using var x = torch.randn(new long[] { 2, 3, 64 }, generator: g);
        using var _ = torch.no_grad();
        var y = layer.forward(x).to(ScalarType.Float64).view(6, 40);
        var xd = x.to(ScalarType.Float64).view(6, 64);
        var wd = WeightQuantizer.DequantizeInt4(q, s, m).to(ScalarType.Float64);
        var reference = xd.mm(wd.t()) + b.to(ScalarType.Float64);
        // bfloat16 keeps 8 significant bits of x and of each group's scale and offset: ≤ 2⁻⁸ relative per term.
        var bound = xd.abs().mm(wd.abs().t()) * (3.0 / 256) + xd.abs().mm((s.to(ScalarType.Float64) * 8 + m.abs().to(ScalarType.Float64)).repeat_interleave(32, 1).t()) / 256 + 1e-5;
        var err = (y - reference).abs();
        Assert.True((err <= bound).all().item<bool>(), $"max error {err.max().item<double>()}");
        var wrong = xd.mm(w.to(ScalarType.Float64).flip(1).t()) + b.to(ScalarType.Float64);     // inputs in the other order
        Assert.False(((y - wrong).abs() <= bound).all().item<bool>());
    }
}
