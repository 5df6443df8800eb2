using GenSharp.Models.Gpt;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>The decoding product (W·xᵀ, whole or in row blocks) against the float64 linear layer.</summary>
public class FewRowLinearTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]      // 1000 rows in 3 blocks: one row left over for the plain product
    [InlineData(64, 2)]
    public void ProductEqualsTheLinearLayer(int rows, long blocks)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var gen = new torch.Generator(17);
        var w = torch.randn(1000, 96, generator: gen);
        var b = torch.randn(1000, generator: gen);
        var x = torch.randn(2, rows, 96, generator: gen).narrow(0, 1, 1);        // a view, as decode steps pass
        var got = FewRowLinear.Forward(x, w, b, blocks);
        var expected = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64));
        Assert.Equal(new long[] { 1, rows, 1000 }, got.shape);
        Assert.True((got.to(ScalarType.Float64) - expected).abs().max().item<double>() < 1e-3);
    }
}
