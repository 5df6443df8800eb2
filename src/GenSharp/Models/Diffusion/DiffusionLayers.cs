using TorchSharp.Modules;

namespace GenSharp.Models.Diffusion;

/// <summary>Layer constructors shared by the UNet's blocks.</summary>
internal static class DiffusionLayers
{
    /// <summary>
    /// GroupNorm with PyTorch's initialisation (γ = 1, β = 0). TorchSharp 0.107's GroupNorm leaves its affine
    /// parameters uninitialised (random memory, sometimes NaN), so they are set here explicitly.
    /// </summary>
    public static GroupNorm Norm(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using var _ = torch.no_grad();
        norm.weight!.fill_(1);
        norm.bias!.zero_();
        return norm;
    }

    /// <summary>
    /// The conditioning vector of a denoiser, (B, E): the time MLP of the sinusoidal features of steps t (B), plus the
    /// class embedding of <paramref name="labels"/> (B) when the denoiser is class-conditional.
    /// </summary>
    public static Tensor Conditioning(Sequential timeMlp, Embedding? classEmbedding, int timeFeatures, Tensor t, Tensor? labels)
    {
        var emb = timeMlp.forward(TimeEmbedding.Sinusoidal(t, timeFeatures));      // (B, E)
        if (classEmbedding is null) return emb;
        if (labels is null) throw new GenSharpException("this ddpm is class-conditional: labels are required");
        return emb + classEmbedding.forward(labels);                                // (B, E)
    }
}
