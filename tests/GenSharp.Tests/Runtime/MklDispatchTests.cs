using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// float32 matrix products (MKL's kernels, chosen by CPU features on any vendor: <see cref="TorchRuntime.MklDispatch"/>)
/// against the same products in float64, for the shapes and layouts the families use: GEMM, transposed operands,
/// batched, matrix-vector, a linear layer with bias and its gradients.
/// </summary>
public class MklDispatchTests
{
    [Fact]
    public void MklDispatchIsReported()
    {
        Assert.False(string.IsNullOrEmpty(TorchRuntime.MklDispatch));
        if (Environment.GetEnvironmentVariable(TorchRuntime.MklAnyVendorVariable) == "0")
            Assert.Contains("own vendor check", TorchRuntime.MklDispatch);
        else if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo") && File.ReadAllText("/proc/cpuinfo").Contains("AuthenticAMD"))
            Assert.Equal("by CPU features on any vendor", TorchRuntime.MklDispatch);
    }

    [Theory]
    [InlineData(128, 3136, 256, false, false)]
    [InlineData(3136, 128, 256, true, false)]
    [InlineData(128, 256, 3136, false, true)]
    [InlineData(1, 576, 1536, false, true)]      // one decode token through an MLP projection (GEMV)
    [InlineData(37, 65, 129, true, true)]        // sizes off every vector width
    [InlineData(768, 128, 384, false, false)]
    public void ProductsMatchFloat64(int m, int k, int n, bool transposeA, bool transposeB)
    {
        using var scope = torch.NewDisposeScope();
        var gen = new torch.Generator((ulong)(m * 7919 + n));
        var a = transposeA ? torch.randn(k, m, generator: gen).t() : torch.randn(m, k, generator: gen);
        var b = transposeB ? torch.randn(n, k, generator: gen).t() : torch.randn(k, n, generator: gen);
        for (int repeat = 0; repeat < 3; repeat++)
        {
            var got = a.matmul(b).to(ScalarType.Float64);
            var expected = a.to(ScalarType.Float64).matmul(b.to(ScalarType.Float64));
            double err = (got - expected).abs().max().item<double>();
            double bound = 1e-5 * Math.Sqrt(k) * expected.abs().max().item<double>() + 1e-5;
            Assert.True(err < bound, $"{m}x{k}x{n}: max error {err:g3} above {bound:g3}");
        }
    }

    [Fact]
    public void BatchedProductsMatchFloat64()
    {
        using var scope = torch.NewDisposeScope();
        var gen = new torch.Generator(11);
        var q = torch.randn(12, 4, 64, 32, generator: gen);
        var kT = torch.randn(12, 4, 32, 64, generator: gen);
        var got = q.matmul(kT).to(ScalarType.Float64);
        var expected = q.to(ScalarType.Float64).matmul(kT.to(ScalarType.Float64));
        Assert.True((got - expected).abs().max().item<double>() < 1e-3);
    }

    [Fact]
    public void LinearLayerAndItsGradientsMatchFloat64()
    {
        using var scope = torch.NewDisposeScope();
        var gen = new torch.Generator(5);
        var x = torch.randn(96, 300, generator: gen, dtype: ScalarType.Float64).requires_grad_(true);
        var w = torch.randn(200, 300, generator: gen, dtype: ScalarType.Float64).requires_grad_(true);
        var bias = torch.randn(200, generator: gen, dtype: ScalarType.Float64).requires_grad_(true);
        var upstream = torch.randn(96, 200, generator: gen, dtype: ScalarType.Float64);

        var y32 = nn.functional.linear(x.to(ScalarType.Float32), w.to(ScalarType.Float32), bias.to(ScalarType.Float32));
        var g32 = torch.autograd.grad(new[] { y32.to(ScalarType.Float64) }, new[] { x, w, bias }, new[] { upstream });
        var y64 = nn.functional.linear(x, w, bias);
        var g64 = torch.autograd.grad(new[] { y64 }, new[] { x, w, bias }, new[] { upstream });

        Assert.True((y32.to(ScalarType.Float64) - y64).abs().max().item<double>() < 1e-3);
        for (int i = 0; i < 3; i++)
            Assert.True((g32[i] - g64[i]).abs().max().item<double>() < 1e-2 * Math.Max(1.0, g64[i].abs().max().item<double>() / 100), $"gradient {i}");
    }
}
