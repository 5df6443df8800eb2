using GenSharp.Runtime;
using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Glow's affine coupling (Kingma &amp; Dhariwal 2018, §3.3, Table 1): the channels split into halves
/// x = (x_a, x_b); x_a passes unchanged and conditions y_b = (x_b + t) · s with
/// (raw, t) = NN(x_a), s = sigmoid(raw + 2) (the official code's scale, which starts near 0.88 and
/// stays in (0, 1)). log|det| = Σ log s.
/// NN = conv3×3 → ReLU → conv1×1 → ReLU → conv3×3; the last conv is zero-initialised, so at
/// the start t = 0 and s = sigmoid(2) everywhere.
/// </summary>
public sealed class GlowCoupling : FlowLayer
{
    readonly long _ca, _cb;
    private readonly Conv2d in_conv, mid_conv, out_conv;

    /// <param name="channels">C (the first C/2 channels condition the rest).</param>
    /// <param name="hidden">Width of the coupling network.</param>
    public GlowCoupling(long channels, long hidden) : base(nameof(GlowCoupling))
    {
        _ca = channels / 2;
        _cb = channels - _ca;
        in_conv = nn.Conv2d(_ca, hidden, 3, padding: 1);
        mid_conv = nn.Conv2d(hidden, hidden, 1);
        out_conv = ModuleInit.Zeroed(nn.Conv2d(hidden, 2 * _cb, 3, padding: 1));
        RegisterComponents();
    }

    /// <summary>The zero-initialised last convolution (tests perturb it).</summary>
    public Conv2d OutConv => out_conv;

    /// <summary>(log s, t) for the conditioning half x_a: each (B, C_b, H, W).</summary>
    (Tensor LogS, Tensor T) ScaleShift(Tensor xa)
    {
        // Handles are released as soon as this code is done with them (autograd keeps what backward needs), so a
        // training step's dispose scope does not hold every coupling's intermediates until the step ends.
        Tensor h;
        using (var a = in_conv.forward(xa))
        using (var b = nn.functional.relu(a))
        using (var c = ConvolutionLayout.Pointwise(mid_conv, b))
        using (var d = nn.functional.relu(c))
            h = out_conv.forward(d);
        using (h)
        using (var raw = h.narrow(1, 0, _cb))                                   // first C_b channels: scale
        using (var shifted = raw + 2.0)
            return (nn.functional.logsigmoid(shifted), h.narrow(1, _cb, _cb));   // last C_b channels: shift
    }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        using var xa = x.narrow(1, 0, _ca);
        using var xb = x.narrow(1, _ca, _cb);
        var (logS, t) = ScaleShift(xa);
        using (logS)
        using (t)
        using (var sum = xb + t)
        using (var scale = logS.exp())
        using (var yb = sum * scale)
        using (var flat = logS.flatten(1))
            return (torch.cat(new[] { xa, yb }, 1), flat.sum(1));
    }

    public override Tensor Inverse(Tensor y)
    {
        var ya = y.narrow(1, 0, _ca);
        var yb = y.narrow(1, _ca, _cb);
        var (logS, t) = ScaleShift(ya);
        var xb = yb * (-logS).exp() - t;
        return torch.cat(new[] { ya, xb }, 1);
    }
}
