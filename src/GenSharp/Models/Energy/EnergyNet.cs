using GenSharp.Models.Gan;
using TorchSharp.Modules;

namespace GenSharp.Models.Energy;

/// <summary>
/// The convolutional energy E(x) of <see cref="EbmConfig"/>: four convolutions with SiLU (Swish) between them,
/// 3×3 stride 1 → 4×4 stride 2 → 4×4 stride 2 → a (S/4)×(S/4) valid convolution to one scalar per image, computed as
/// the linear layer it is (<see cref="MapReadout"/>, or <see cref="SpectralNormConv2d"/>'s whole-map path).
/// Besides the weights it keeps the replay buffer (<c>replay</c>, (N, C, H, W) in [-1, 1]) as a module buffer,
/// so the buffer lives on the model's device and is saved with the weights.
/// </summary>
public sealed class EnergyNet : nn.Module<Tensor, Tensor>
{
    // Field names are the checkpoint keys.
    private readonly nn.Module<Tensor, Tensor> conv1, conv2, conv3, head;
    private readonly Tensor replay;   // (N, C, H, W) replay buffer in [-1, 1]

    /// <summary>A fresh network and a replay buffer of uniform noise in [-1, 1].</summary>
    public EnergyNet(EbmConfig config) : base(nameof(EnergyNet))
    {
        int c = config.Channels, s = config.ImageSize;
        nn.Module<Tensor, Tensor> Conv(long cin, long cout, long k, long stride, long pad) => config.SpectralNorm
            ? new SpectralNormConv2d(cin, cout, k, stride, pad)
            : nn.Conv2d(cin, cout, k, stride: stride, padding: pad);
        conv1 = Conv(config.ImageChannels, c, 3, 1, 1);   // S
        conv2 = Conv(c, 2 * c, 4, 2, 1);                  // S/2
        conv3 = Conv(2 * c, 4 * c, 4, 2, 1);              // S/4
        head = config.SpectralNorm ? Conv(4 * c, 1, s / 4, 1, 0) : new MapReadout(4 * c, 1, s / 4); // 1×1
        replay = torch.rand(config.ReplaySize, config.ImageChannels, s, s) * 2 - 1;
        RegisterComponents();
    }

    /// <summary>The replay buffer (N, C, H, W) in [-1, 1].</summary>
    public Tensor Replay => replay;

    /// <summary>E(x), (B) for x (B, C, H, W) in [-1, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        var h = nn.functional.silu(conv1.forward(x));   // (B, c, S, S)
        h = nn.functional.silu(conv2.forward(h));       // (B, 2c, S/2, S/2)
        h = nn.functional.silu(conv3.forward(h));       // (B, 4c, S/4, S/4)
        return head.forward(h).flatten();               // (B)
    }
}
