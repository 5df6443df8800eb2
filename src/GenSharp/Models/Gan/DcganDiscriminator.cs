using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Gan;

/// <summary>
/// Image (and optionally a label map) → one real/fake logit: strided convolutions S → S/2 → S/4,
/// LeakyReLU(0.2), BatchNorm in the middle (or spectral norm on every conv), a final S/4 × S/4 conv.
/// The last convolution, whose kernel covers its whole map, is computed as the linear layer it is (<see cref="MapReadout"/>,
/// or <see cref="SpectralNormConv2d"/>'s whole-map path). The conditional variant appends a learned per-class image-sized plane as an extra input channel.
/// </summary>
public sealed class DcganDiscriminator : Module<Tensor, Tensor?, Tensor>
{
    private readonly Embedding? label_plane;
    private readonly Sequential net;
    readonly int _size;

    public DcganDiscriminator(DcganConfig c) : base(nameof(DcganDiscriminator))
    {
        _size = c.ImageSize;
        int d = c.DiscriminatorChannels, s4 = c.ImageSize / 4;
        int input = c.ImageChannels + (c.Conditional ? 1 : 0);
        if (c.Conditional) label_plane = Embedding(c.NumClasses, c.ImageSize * c.ImageSize);
        Module<Tensor, Tensor> Conv(int i, int o, int k, int st, int p, bool bias) => c.SpectralNorm
            ? new SpectralNormConv2d(i, o, k, st, p)
            : Conv2d(i, o, k, stride: st, padding: p, bias: bias);
        var layers = new List<Module<Tensor, Tensor>>
        {
            Conv(input, d, 4, 2, 1, true), LeakyReLU(0.2),                                   // (B, d, S/2, S/2)
            Conv(d, 2 * d, 4, 2, 1, c.SpectralNorm),                                         // (B, 2d, S/4, S/4)
        };
        if (!c.SpectralNorm) layers.Add(BatchNorm2d(2 * d));
        layers.Add(LeakyReLU(0.2));
        layers.Add(c.SpectralNorm ? Conv(2 * d, 1, s4, 1, 0, true) : new MapReadout(2 * d, 1, s4)); // (B, 1, 1, 1)
        layers.Add(Flatten());                                                               // (B, 1)
        net = Sequential(layers);
        RegisterComponents();
    }

    /// <summary>Real/fake logits, (B).</summary>
    public override Tensor forward(Tensor x, Tensor? labels)
    {
        var h = x;                                                                        // (B, C, S, S)
        if (label_plane is not null)
        {
            if (labels is null) throw new GenSharpException("this DCGAN is class-conditional: labels are required");
            var plane = label_plane.forward(labels).view(-1, 1, _size, _size);            // (B, 1, S, S)
            h = torch.cat(new[] { h, plane }, 1);                                         // (B, C+1, S, S)
        }
        return net.ForwardReleasing(h).squeeze(1);
    }
}
