using GenSharp.Models.Gan;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// The DCGAN's whole-map layers, held to libtorch's own convolutions with the same weights: values and both gradients,
/// with the weight and the input in the default layout and channels-last, since the products take a different path for
/// each. The convolutions run natively here, so the reference does not share oneDNN with anything under test.
/// </summary>
public class WholeMapLayersTests
{
    static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double scale = Math.Max(1e-6, expected.abs().max().item<float>());
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= 1e-5 * scale, $"{what}: max |difference| {diff:G3} at scale {scale:G3}");
    }

    static Tensor Layout(Tensor t, bool last) => last ? ConvolutionLayout.ToChannelsLast(t).detach() : t.contiguous();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MapProjection_equals_a_transposed_convolution_of_the_one_pixel_map(bool channelsLast)
    {
        torch.manual_seed(1);
        using var layer = new MapProjection(10, 6, 7);
        var w = layer.named_parameters().Single(p => p.name == "weight").parameter;
        using (torch.no_grad()) w.set_(Layout(w.detach().clone(), channelsLast));
        Assert.Equal(channelsLast, ConvolutionLayout.IsChannelsLast(w));
        var x = torch.randn(5, 10, 1, 1).requires_grad_();
        var y = layer.forward(x);
        Assert.Equal(channelsLast, ConvolutionLayout.IsChannelsLast(y));   // the output follows the weight's layout
        var upstream = torch.randn(5, 6, 7, 7);
        var (gx, gw) = Grads(y, upstream, x, w);

        var xr = x.detach().clone().requires_grad_();
        var wr = w.detach().contiguous().clone().requires_grad_();
        Tensor yr, gxr, gwr;
        using (TorchRuntime.NativeConvolutions())   // backward too: libtorch picks the backward's backend when it runs
        {
            yr = nn.functional.conv_transpose2d(xr, wr);
            (gxr, gwr) = Grads(yr, upstream, xr, wr);
        }
        Close(yr, y, "output");
        Close(gxr, gx, "input gradient");
        Close(gwr, gw, "weight gradient");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void MapReadout_equals_a_convolution_over_the_whole_map(bool weightLast, bool inputLast)
    {
        torch.manual_seed(2);
        using var layer = new MapReadout(12, 3, 5);
        var (w, bias) = (layer.named_parameters().Single(p => p.name == "weight").parameter,
                         layer.named_parameters().Single(p => p.name == "bias").parameter);
        using (torch.no_grad()) w.set_(Layout(w.detach().clone(), weightLast));
        var x = Layout(torch.randn(4, 12, 5, 5), inputLast).requires_grad_();
        var y = layer.forward(x);
        var upstream = torch.randn(4, 3, 1, 1);
        var (gx, gw) = Grads(y, upstream, x, w);
        if (inputLast) Assert.True(ConvolutionLayout.IsChannelsLast(gx), "the input gradient should keep the input's layout");

        var xr = x.detach().contiguous().clone().requires_grad_();
        var wr = w.detach().contiguous().clone().requires_grad_();
        Tensor yr, gxr, gwr;
        using (TorchRuntime.NativeConvolutions())
        {
            yr = nn.functional.conv2d(xr, wr, bias.detach());
            (gxr, gwr) = Grads(yr, upstream, xr, wr);
        }
        Close(yr, y, "output");
        Close(gxr, gx, "input gradient");
        Close(gwr, gw, "weight gradient");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_spectrally_normalised_convolution_over_the_whole_map_equals_the_convolution(bool inputLast)
    {
        torch.manual_seed(3);
        using var layer = new SpectralNormConv2d(12, 1, 5, 1, 0);
        layer.eval();                                   // no power-iteration step: both sides see the same weight
        ConvolutionLayout.Prepare(layer);
        var x = Layout(torch.randn(4, 12, 5, 5), inputLast).requires_grad_();
        var w = layer.named_parameters().Single(p => p.name == "weight_orig").parameter;
        var y = layer.forward(x);
        var upstream = torch.randn(4, 1, 1, 1);
        var (gx, gw) = Grads(y, upstream, x, w);

        var xr = x.detach().contiguous().clone().requires_grad_();
        var wr = w.detach().contiguous().clone().requires_grad_();
        var bias = layer.named_parameters().Single(p => p.name == "bias").parameter.detach();
        Tensor yr, gxr, gwr;
        using (TorchRuntime.NativeConvolutions())
        {
            yr = nn.functional.conv2d(xr, wr / SpectralSigma(layer, wr), bias);
            (gxr, gwr) = Grads(yr, upstream, xr, wr);
        }
        Close(yr, y, "output");
        Close(gxr, gx, "input gradient");
        Close(gwr, gw, "weight gradient");
    }

    [Fact]
    public void The_layers_refuse_maps_of_another_size_in_one_line()
    {
        using var projection = new MapProjection(10, 6, 7);
        var e = Assert.Throws<GenSharpException>(() => projection.forward(torch.randn(2, 10, 2, 2)));
        Assert.Contains("(B, 10, 1, 1)", e.Message);
        using var readout = new MapReadout(12, 3, 5);
        e = Assert.Throws<GenSharpException>(() => readout.forward(torch.randn(2, 12, 6, 6)));
        Assert.Contains("(B, 12, 5, 5)", e.Message);
    }

    [Fact]
    public void The_dcgan_keeps_its_checkpoint_names_and_shapes()
    {
        using var nets = new DcganNetworks(new DcganConfig());
        var shapes = nets.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.Equal(new long[] { 100, 256, 7, 7 }, shapes["generator.net.0.weight"]);
        Assert.DoesNotContain("generator.net.0.bias", shapes.Keys);
        Assert.Equal(new long[] { 1, 128, 7, 7 }, shapes["discriminator.net.5.weight"]);
        Assert.Equal(new long[] { 1 }, shapes["discriminator.net.5.bias"]);
    }

    // σ = uᵀ W v with the layer's power-iteration vectors, differentiable in W, as SpectralNormConv2d computes it.
    static Tensor SpectralSigma(nn.Module layer, Tensor w)
    {
        var buffers = layer.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        return buffers["weight_u"].dot(w.flatten(1).mv(buffers["weight_v"]));
    }

    static (Tensor, Tensor) Grads(Tensor y, Tensor upstream, Tensor x, Tensor w)
    {
        var g = torch.autograd.grad(new[] { y }, new[] { x, w }, new[] { upstream });
        return (g[0], g[1]);
    }
}
