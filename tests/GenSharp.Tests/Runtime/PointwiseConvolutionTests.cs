using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// <see cref="ConvolutionLayout.Pointwise(Tensor, Tensor, Tensor?)"/>: a 1×1 convolution as a matrix product. The reference is
/// the sum itself, y[n,o,h,w] = Σ_c W[o,c]·x[n,c,h,w] + b[o], written as an einsum in float64 and differentiated by
/// autograd there.
/// </summary>
public class PointwiseConvolutionTests
{
    static (Tensor Y, Tensor Gx, Tensor Gw, Tensor Gb) Reference(Tensor x, Tensor w, Tensor b, Tensor upstream)
    {
        var x64 = x.detach().to(ScalarType.Float64).requires_grad_(true);
        var w64 = w.detach().reshape(w.shape[0], w.shape[1]).to(ScalarType.Float64).requires_grad_(true);
        var b64 = b.detach().to(ScalarType.Float64).requires_grad_(true);
        var y = torch.einsum("oc,nchw->nohw", w64, x64) + b64.view(1, -1, 1, 1);
        (y * upstream.to(ScalarType.Float64)).sum().backward();
        return (y.detach(), x64.grad!, w64.grad!, b64.grad!);
    }

    static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double diff = (expected - actual.to(ScalarType.Float64)).abs().max().item<double>();
        double scale = expected.abs().max().item<double>();
        Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"{what} differs by {diff} (largest value {scale})");
    }

    [Theory]
    [InlineData(64, 64, 14, true)]     // Glow's coupling network
    [InlineData(8, 8, 7, true)]        // Glow's invertible 1×1 convolution
    [InlineData(5, 3, 6, true)]
    [InlineData(5, 3, 6, false)]       // a (C_out, C_in) matrix as the weight
    public void ChannelsLastInputTakesTheProductWithExactValuesAndGradients(int cin, int cout, int size, bool fourDWeight)
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        var x = ConvolutionLayout.ToChannelsLast(torch.randn(3, cin, size, size)).requires_grad_(true);
        var w = (fourDWeight ? ConvolutionLayout.ToChannelsLast(torch.randn(cout, cin, 1, 1)) : torch.randn(cout, cin)).requires_grad_(true);
        var b = torch.randn(cout).requires_grad_(true);
        var upstream = torch.randn(3, cout, size, size);

        var y = ConvolutionLayout.Pointwise(x, w, b);
        Assert.True(ConvolutionLayout.IsChannelsLast(y), $"the output should be channels-last: strides {string.Join(",", y.stride())}");
        (y * upstream).sum().backward();

        var (ry, rgx, rgw, rgb) = Reference(x, w, b, upstream);
        Close(ry, y, "the output");
        Close(rgx, x.grad!, "the input gradient");
        Close(rgw, w.grad!.reshape(cout, cin), "the weight gradient");
        Close(rgb, b.grad!, "the bias gradient");
        Assert.Equal(w.shape, w.grad!.shape);
    }

    [Fact]
    public void DefaultLayoutInputGivesTheSameValuesWhicheverPathItTakes()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(12);
        var x = torch.randn(2, 6, 5, 5).requires_grad_(true);
        var w = ConvolutionLayout.Weight(torch.randn(4, 6, 1, 1)).requires_grad_(true);
        var b = torch.randn(4).requires_grad_(true);
        var upstream = torch.randn(2, 4, 5, 5);

        var y = ConvolutionLayout.Pointwise(x, w, b);
        (y * upstream).sum().backward();
        var (ry, rgx, rgw, rgb) = Reference(x, w, b, upstream);
        Close(ry, y, "the output");
        Close(rgx, x.grad!, "the input gradient");
        Close(rgw, w.grad!.reshape(4, 6), "the weight gradient");
        Close(rgb, b.grad!, "the bias gradient");
    }

    [Fact]
    public void OnlyPlainOneByOneConvolutionsAreRewritten()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(13);
        var x = ConvolutionLayout.ToChannelsLast(torch.randn(2, 6, 8, 8));
        var pointwise = nn.Conv2d(6, 4, 1);
        var strided = nn.Conv2d(6, 4, 1, stride: 2);
        var padded = nn.Conv2d(6, 4, 1, padding: 1);
        var wide = nn.Conv2d(6, 4, 3, padding: 1);
        var (ry, _, _, _) = Reference(x, pointwise.weight!, pointwise.bias!, torch.zeros(2, 4, 8, 8));
        using var noGrad = torch.no_grad();

        var y = ConvolutionLayout.Pointwise(pointwise, x);
        Close(ry, y, "the 1×1 convolution");
        Assert.True(ConvolutionLayout.IsChannelsLast(y));

        foreach (var conv in new[] { strided, padded, wide })
        {
            var expected = conv.forward(x);
            var actual = ConvolutionLayout.Pointwise(conv, x);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.equal(actual).all().item<bool>(), "a convolution that is not a plain 1×1 one must run as itself");
        }
    }

    [Fact]
    public void AWrongChannelCountIsAClearError()
    {
        using var scope = torch.NewDisposeScope();
        var x = ConvolutionLayout.ToChannelsLast(torch.randn(2, 5, 4, 4));
        var ex = Assert.Throws<GenSharpException>(() => ConvolutionLayout.Pointwise(x, torch.randn(3, 6, 1, 1), null));
        Assert.Contains("6 input channels got 5", ex.Message);
        Assert.Throws<GenSharpException>(() => ConvolutionLayout.Pointwise(x, torch.randn(3, 6), null));
    }
}
