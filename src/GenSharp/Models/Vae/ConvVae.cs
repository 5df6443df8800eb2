using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Vae;

/// <summary>
/// Convolutional encoder q(z|x) = N(μ, diag σ²) and decoder p(x|z) = Bernoulli(sigmoid(logits)).
/// Kingma &amp; Welling 2014, "Auto-Encoding Variational Bayes" (arXiv:1312.6114).
/// </summary>
public sealed class ConvVae : Module
{
    // Field names are the checkpoint keys (encoder.0.weight, to_stats.weight, ...).
    private readonly Sequential encoder;
    private readonly Linear to_stats;
    private readonly Sequential decoder;
    private readonly int _latent;

    public ConvVae(VaeConfig c) : base(nameof(ConvVae))
    {
        _latent = c.LatentDim;
        int s = c.ImageSize / 4, c2 = 2 * c.Channels;
        encoder = Sequential(
            Conv2d(c.ImageChannels, c.Channels, 4, stride: 2, padding: 1), ReLU(),   // (B, C1, H/2, W/2)
            // The ReLU follows the flatten, which copies the channels-last map into the default order: its backward
            // then meets a gradient of its own layout instead of running libtorch's scalar loop over mixed ones.
            Conv2d(c.Channels, c2, 4, stride: 2, padding: 1), Flatten(),            // (B, C2·H/4·W/4)
            ReLU(),
            Linear(c2 * s * s, c.Hidden), ReLU());                                   // (B, hidden)
        to_stats = Linear(c.Hidden, 2 * c.LatentDim);                                // (B, 2·latent) = [μ, log σ²]
        decoder = Sequential(
            Linear(c.LatentDim, c.Hidden), ReLU(),
            Linear(c.Hidden, c2 * s * s), ReLU(),
            Unflatten(1, new long[] { c2, s, s }),                                   // (B, C2, H/4, W/4)
            ConvTranspose2d(c2, c.Channels, 4, stride: 2, padding: 1), ReLU(),      // (B, C1, H/2, W/2)
            ConvTranspose2d(c.Channels, c.ImageChannels, 4, stride: 2, padding: 1)); // (B, C, H, W) logits
        RegisterComponents();
    }

    /// <summary>Posterior parameters: μ and log σ², each (B, latent).</summary>
    public (Tensor Mu, Tensor LogVar) Encode(Tensor x)
    {
        var stats = to_stats.forward(encoder.forward(x)); // (B, 2·latent)
        var parts = stats.chunk(2, dim: 1);
        return (parts[0], parts[1]);
    }

    /// <summary>Bernoulli logits of p(x|z), (B, C, H, W).</summary>
    public Tensor DecodeLogits(Tensor z) => decoder.forward(z);

    /// <summary>Latent dimensionality.</summary>
    public int LatentDim => _latent;
}
