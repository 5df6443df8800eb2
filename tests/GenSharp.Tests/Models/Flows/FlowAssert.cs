using GenSharp.Models.Flows;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>Checks every flow layer against brute force: inverse(forward(x)) = x and log|det J| from the autograd Jacobian.</summary>
static class FlowAssert
{
    /// <summary>max |f⁻¹(f(x)) − x| ≤ <paramref name="tol"/>, in float64.</summary>
    public static void InvertsExactly(FlowLayer layer, Tensor x, double tol = 1e-5)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (y, _) = layer.Forward(x);
        var back = layer.Inverse(y);
        double err = (back - x).abs().max().item<double>();
        Assert.True(err <= tol, $"{layer.GetName()}: max |inverse(forward(x)) − x| = {err:E3} > {tol:E1}");
    }

    /// <summary>
    /// For each item of <paramref name="x"/> (float64, tiny), builds the full Jacobian ∂y/∂x one row per
    /// output element with autograd and compares log|det J| (slogdet) with the layer's log-determinant.
    /// </summary>
    public static void LogDetMatchesJacobian(FlowLayer layer, Tensor x, double tol = 1e-6)
    {
        using var scope = torch.NewDisposeScope();
        var (_, logDet) = layer.Forward(x);
        var claimed = logDet.detach().to(ScalarType.Float64).data<double>().ToArray();
        for (long b = 0; b < x.shape[0]; b++)
        {
            var xb = x.narrow(0, b, 1).detach().clone().requires_grad_(true);
            var (yb, _) = layer.Forward(xb);
            var flat = yb.flatten();
            long n = flat.shape[0];
            Assert.Equal(xb.numel(), n);
            var rows = new List<Tensor>();
            for (long i = 0; i < n; i++)
            {
                var g = torch.autograd.grad(new[] { flat[i] }, new[] { xb }, retain_graph: true, allow_unused: true)[0];
                rows.Add(g is null ? torch.zeros(n, dtype: x.dtype) : g.flatten());
            }
            var jac = torch.stack(rows);                                    // (n, n): row i = ∂y_i/∂x
            var (sign, logAbs) = torch.linalg.slogdet(jac);
            Assert.True(sign.abs().item<double>() > 0, $"{layer.GetName()}: Jacobian is singular");
            double expected = logAbs.item<double>();
            Assert.True(Math.Abs(expected - claimed[b]) <= tol,
                $"{layer.GetName()}: log|det J| brute force {expected:R} vs layer {claimed[b]:R} (item {b})");
        }
    }
}
