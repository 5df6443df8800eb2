using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// libtorch's CPU convolution gradients against an im2col computation (unfold, a matrix product, fold) that shares no
/// kernel with them, repeated, because the failure seen with oneDNN's backward-data pass was intermittent.
/// </summary>
public class ConvolutionGradientTests
{
    [Fact]
    public void OneDnnFollowsTheVariableOrTheMachineCheck()
    {
        var forced = Environment.GetEnvironmentVariable(TorchRuntime.OneDnnVariable);
        bool expected = forced is "1" or "0" or "blocked" ? forced != "0" : OneDnnCheck.CachedOrRun().Agrees;
        Assert.Equal(expected, TorchRuntime.OneDnnConvolutions);
        Assert.False(string.IsNullOrEmpty(TorchRuntime.OneDnnReason));
    }

    // The candidate runs while the check holds oneDNN off, so these conv calls take the native path.
    static Tensor Native(OneDnnCheck.ProbeKind kind, Tensor x, Tensor w, Tensor dy) => OneDnnCheck.Compute(kind, x, w, dy);

    [Fact]
    public void TheMachineCheckAcceptsAKernelThatAgrees()
    {
        var verdict = OneDnnCheck.Run(repeats: 3, candidate: Native);
        Assert.True(verdict.Agrees, verdict.Detail);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheMachineCheckCatchesABlockLeftUnwritten(bool nan)
    {
        int call = 0;
        var verdict = OneDnnCheck.Run(repeats: 10, candidate: (kind, x, w, dy) =>
        {
            var result = Native(kind, x, w, dy);
            if (kind == OneDnnCheck.ProbeKind.Conv2d && ++call == 7)
                result.narrow(0, 8 * 4 * 14 * 14 + 3 * 8 * 14 * 14 + 2 * 14 * 14 + 4 * 14, 4 * 14).fill_(nan ? double.NaN : 0.0);    // 4 rows of one channel of the input gradient
            return result;
        });
        Assert.False(verdict.Agrees);
        Assert.Contains("call 7 of 10", verdict.Detail);
        Assert.Contains(nan ? "non-finite" : "differs", verdict.Detail);
    }

    [Theory]
    [InlineData(8, 8, 4, 14, 3, 1)]      // a glow coupling's last convolution (where training diverged)
    [InlineData(4, 2, 8, 14, 3, 1)]
    [InlineData(16, 32, 64, 7, 3, 1)]
    [InlineData(8, 16, 16, 14, 1, 0)]
    public void InputAndWeightGradientsMatchIm2col(int batch, int inChannels, int outChannels, int size, int kernel, int padding)
    {
        torch.manual_seed(batch * 1000 + inChannels);
        for (int repeat = 0; repeat < 100; repeat++)
        {
            using var scope = torch.NewDisposeScope();
            var x = torch.randn(batch, inChannels, size, size, dtype: ScalarType.Float64).requires_grad_(true);
            var w = torch.randn(outChannels, inChannels, kernel, kernel, dtype: ScalarType.Float64).requires_grad_(true);
            var upstream = torch.randn(batch, outChannels, size + 2 * padding - kernel + 1, size + 2 * padding - kernel + 1, dtype: ScalarType.Float64);
            // The weight in the layout GenSharp's models give it (channels-last when oneDNN runs the convolutions).
            var y = nn.functional.conv2d(x.to(ScalarType.Float32), ConvolutionLayout.Weight(w.to(ScalarType.Float32)), padding: new long[] { padding, padding });
            var (gx, gw) = Gradients(y.to(ScalarType.Float64), upstream, x, w);

            // y = W·unfold(x) ⇒ ∂x = fold(Wᵀ·∂y), ∂W = Σ_b ∂y·unfold(x)ᵀ, in float64.
            using var noGrad = torch.no_grad();
            var columns = nn.functional.unfold(x, kernel, padding: padding);                      // (B, C·k·k, L)
            var dy = upstream.flatten(2);                                                          // (B, O, L)
            var wFlat = w.flatten(1);                                                              // (O, C·k·k)
            var expectedX = nn.functional.fold(wFlat.t().matmul(dy), size, kernel, padding: padding);
            var expectedW = dy.matmul(columns.transpose(1, 2)).sum(new long[] { 0 }).view_as(w);

            Assert.True(gx.isfinite().all().item<bool>(), $"repeat {repeat}: the input gradient has non-finite values");
            Assert.True((gx - expectedX).abs().max().item<double>() < 1e-3, $"repeat {repeat}: input gradient differs by {(gx - expectedX).abs().max().item<double>()}");
            Assert.True((gw - expectedW).abs().max().item<double>() < 1e-2, $"repeat {repeat}: weight gradient differs by {(gw - expectedW).abs().max().item<double>()}");
        }
    }

    static (Tensor X, Tensor W) Gradients(Tensor y, Tensor upstream, Tensor x, Tensor w)
    {
        var grads = torch.autograd.grad(new[] { y }, new[] { x, w }, new[] { upstream });
        return (grads[0], grads[1]);
    }
}
