using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// The conditioner of a RealNVP coupling layer: a small same-resolution ResNet (3×3 convolutions,
/// pre-activation residual blocks h + conv(relu(conv(relu(h))))), Dinh et al. 2017 §4.1. Its last
/// convolution starts at zero, so a new coupling layer is the identity and the flow starts as the
/// logit preprocessing alone. No normalisation inside: the flow's own normalisation layers keep the
/// activations in range, and per-item outputs keep every layer a function of its own input only.
/// </summary>
public sealed class RealNvpResNet : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d in_conv;
    private readonly ModuleList<ResidualBlock> blocks;
    private readonly Conv2d out_conv;

    public RealNvpResNet(long inChannels, long width, int residualBlocks, long outChannels) : base(nameof(RealNvpResNet))
    {
        in_conv = nn.Conv2d(inChannels, width, 3, padding: 1);
        blocks = nn.ModuleList(Enumerable.Range(0, residualBlocks).Select(_ => new ResidualBlock(width)).ToArray());
        out_conv = ModuleInit.Zeroed(nn.Conv2d(width, outChannels, 3, padding: 1));
        RegisterComponents();
    }

    /// <summary>(B, in, H, W) → (B, out, H, W).</summary>
    public override Tensor forward(Tensor x)
    {
        // Each handle is released once this code is done with it (autograd keeps what backward needs), so a training
        // step's dispose scope does not hold every block's intermediates until the step ends.
        var h = in_conv.forward(x);                       // (B, width, H, W)
        foreach (var block in blocks)
        {
            var previous = h;
            using (previous) h = block.forward(previous);
        }
        using (h)
        using (var r = nn.functional.relu(h))
            return out_conv.forward(r);                   // (B, out, H, W)
    }

    /// <summary>h + conv2(relu(conv1(relu(h)))), width preserved.</summary>
    public sealed class ResidualBlock : nn.Module<Tensor, Tensor>
    {
        private readonly Conv2d conv1;
        private readonly Conv2d conv2;

        public ResidualBlock(long width) : base(nameof(ResidualBlock))
        {
            conv1 = nn.Conv2d(width, width, 3, padding: 1);
            conv2 = nn.Conv2d(width, width, 3, padding: 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor h)
        {
            using var a = nn.functional.relu(h);
            using var b = conv1.forward(a);
            using var c = nn.functional.relu(b);
            using var d = conv2.forward(c);
            return h + d;
        }
    }
}
