using GenSharp.Media.Audio;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Audio;

/// <summary>
/// One residual layer of WaveNet (van den Oord et al. 2016, Fig. 4): a dilated causal convolution of kernel 2 (it
/// sees x[t − d] and x[t]), plus the conditioning projection (eq. 3), the gated activation
/// z = tanh(W_f∗x + V_f·c) ⊙ σ(W_g∗x + V_g·c) (eq. 2), a 1×1 skip output and a 1×1 residual output added to x.
/// </summary>
public sealed class WaveNetLayer : Module
{
    // Field names are the checkpoint keys (layers.0.dilated.weight, ...).
    private readonly Conv1d dilated;
    private readonly Conv1d? condition;
    private readonly Conv1d skip;
    private readonly Conv1d residual;
    readonly int _gate;

    /// <summary>The dilation d.</summary>
    public int Dilation { get; }

    public WaveNetLayer(int residualChannels, int gateChannels, int skipChannels, int conditionChannels, int dilation) : base(nameof(WaveNetLayer))
    {
        Dilation = dilation;
        _gate = gateChannels;
        dilated = Conv1d(residualChannels, 2 * gateChannels, 2, dilation: dilation);
        if (conditionChannels > 0) condition = Conv1d(conditionChannels, 2 * gateChannels, 1, bias: false);
        skip = Conv1d(gateChannels, skipChannels, 1);
        residual = Conv1d(gateChannels, residualChannels, 1);
        RegisterComponents();
    }

    /// <summary>
    /// x (B, T, R) — time-major: every convolution of a layer is a matrix product over the B·T positions — and the
    /// conditioning already projected to this layer's gates at the sample rate (B, T, 2G), or null; returns the layer's
    /// output (B, T, R) and its skip contribution (B, T, S). Position t depends on x at t and t − d only (zeros before
    /// the start). The weights are the convolutions' own (checkpoint names and shapes unchanged): the kernel-2 dilated
    /// convolution is W₁·x[t] + b plus W₀·x[t − d] added to the positions from d on, which on a CPU is about twice as
    /// fast forward and backward as libtorch's dilated convolution over (B, R, T) (docs/benchmarks.md).
    /// </summary>
    public (Tensor Output, Tensor Skip) Forward(Tensor x, Tensor? conditionGates)
    {
        // Handles are released as soon as this code is done with them (autograd keeps what backward needs), so a
        // training step's dispose scope does not hold every layer's intermediates until the step ends.
        long t = x.shape[1];
        var w = dilated.weight!;                                                      // (2G, R, 2): taps x[t − d], x[t]
        Tensor h;
        using (var now = w.select(2, 1))
            h = linear(x, now, dilated.bias);                                         // (B, T, 2G)
        if (Dilation < t)
        {
            using var pastWeight = w.select(2, 0);
            using var earlier = x.narrow(1, 0, t - Dilation);
            using var past = linear(earlier, pastWeight);                             // (B, T − d, 2G)
            using var later = h.narrow(1, Dilation, t - Dilation);
            later.add_(past);
        }
        if (conditionGates is not null)
            using (var unconditioned = h)
                h = unconditioned.add(conditionGates, AudioScalars.One);              // not +: see AudioScalars
        Tensor z;
        using (h)
        using (var filter = h.narrow(2, 0, _gate))
        using (var gate = h.narrow(2, _gate, _gate))
        using (var tanh = torch.tanh(filter))
        using (var sigmoid = torch.sigmoid(gate))
            z = tanh.mul(sigmoid);                                                     // (B, T, G), dense
        using (z)
        using (var residualWeight = residual.weight!.squeeze(2))
        using (var skipWeight = skip.weight!.squeeze(2))
        using (var r = linear(z, residualWeight, residual.bias))
            return (x.add(r, AudioScalars.One), linear(z, skipWeight, skip.bias));
    }

    /// <summary>The conditioning features (B, C, frames) projected to this layer's gates, (B, 2G, frames).</summary>
    public Tensor ConditionGates(Tensor features) =>
        condition?.forward(features) ?? throw new InvalidOperationException("this layer is unconditional");

    /// <summary>
    /// This layer's weights as matrices for one sample at a time: the dilated kernel as [W(t−d); W(t)] (2R, 2G) and
    /// its bias, the conditioning (C, 2G) or null, and skip and residual outputs side by side (G, S + R) with their biases.
    /// </summary>
    internal (Tensor Kernel, Tensor KernelBias, Tensor? Condition, Tensor Out, Tensor OutBias) StepWeights()
    {
        var w = dilated.weight!;                                                                  // (2G, R, 2)
        var kernel = torch.cat(new[] { w.select(2, 0).t(), w.select(2, 1).t() }, 0).contiguous(); // (2R, 2G)
        var cond = condition?.weight!.squeeze(2).t().contiguous();                               // (C, 2G)
        var outW = torch.cat(new[] { skip.weight!.squeeze(2), residual.weight!.squeeze(2) }, 0).t().contiguous(); // (G, S+R)
        var outB = torch.cat(new[] { skip.bias!, residual.bias! }, 0);
        return (kernel, dilated.bias!, cond, outW, outB);
    }
}
