using GenSharp.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Gan;

/// <summary>
/// z (and optionally a class embedding) → image in [-1, 1] through transposed convolutions:
/// 1×1 → S/4 → S/2 → S with BatchNorm + ReLU between and tanh at the end (DCGAN §3). The first layer, a transposed
/// convolution of the 1×1 input, is computed as the matrix product it is (<see cref="MapProjection"/>).
/// </summary>
public sealed class DcganGenerator : Module<Tensor, Tensor?, Tensor>
{
    private readonly Embedding? label_embedding;
    private readonly Sequential net;
    readonly int _latent;

    public DcganGenerator(DcganConfig c) : base(nameof(DcganGenerator))
    {
        _latent = c.LatentDim;
        int g = c.GeneratorChannels, s4 = c.ImageSize / 4;
        int input = c.LatentDim + (c.Conditional ? c.ClassEmbedding : 0);
        if (c.Conditional) label_embedding = Embedding(c.NumClasses, c.ClassEmbedding);
        net = Sequential(
            new MapProjection(input, 4 * g, s4), BatchNorm2d(4 * g), ReLU(),                                    // (B, 4g, S/4, S/4)
            ConvTranspose2d(4 * g, 2 * g, 4, stride: 2, padding: 1, bias: false), BatchNorm2d(2 * g), ReLU(),  // (B, 2g, S/2, S/2)
            ConvTranspose2d(2 * g, c.ImageChannels, 4, stride: 2, padding: 1), Tanh());                       // (B, C, S, S)
        RegisterComponents();
    }

    public int LatentDim => _latent;

    public override Tensor forward(Tensor z, Tensor? labels)
    {
        var h = z;                                                        // (B, latent)
        if (label_embedding is not null)
        {
            if (labels is null) throw new ParameterException("class", "is needed: this DCGAN is class-conditional");
            h = torch.cat(new[] { h, label_embedding.forward(labels) }, 1); // (B, latent + emb)
        }
        return net.ForwardReleasing(h.unsqueeze(-1).unsqueeze(-1));             // (B, latent[+emb], 1, 1) → (B, C, S, S)
    }
}
