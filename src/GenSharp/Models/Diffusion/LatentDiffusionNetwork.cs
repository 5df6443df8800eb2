using GenSharp.Models.Vae;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// Latent diffusion (Rombach et al. 2022, arXiv:2112.10752, §3 with a VAE as the first stage): a frozen VAE
/// whose posterior means, multiplied by <c>latent_scale</c> (1/std of the first training batch's latents, so the
/// diffused latents have unit variance as the forward process assumes), are the data of a <see cref="LatentDenoiser"/>.
/// The VAE's weights live in the same checkpoint under <c>vae.*</c>, so loading never needs the VAE's folder.
/// </summary>
public sealed class LatentDiffusionNetwork : Module
{
    private readonly LatentDenoiser denoiser;
    private readonly ConvVae vae;
    private readonly Tensor latent_scale;   // scalar; 0 until measured on the first training batch

    public LatentDiffusionNetwork(DdpmConfig config, VaeConfig vaeConfig) : base(nameof(LatentDiffusionNetwork))
    {
        vae = new ConvVae(vaeConfig);
        denoiser = new LatentDenoiser(vaeConfig.LatentDim, config);
        latent_scale = torch.zeros(Array.Empty<long>());
        RegisterComponents();
        foreach (var p in vae.parameters()) p.requires_grad = false;   // the first stage stays frozen
    }

    /// <summary>The denoiser (the only trained part).</summary>
    public LatentDenoiser Denoiser => denoiser;
    /// <summary>The frozen VAE.</summary>
    public ConvVae Vae => vae;
    /// <summary>Latent scale factor (0 until measured).</summary>
    public Tensor LatentScale => latent_scale;

    /// <summary>Scaled latents (B, D) of float images in [0,1] (B, C, H, W); measures the scale on the first call in training.</summary>
    public Tensor Encode(Tensor images01)
    {
        using var _ = torch.no_grad();
        vae.eval();
        var mu = vae.Encode(images01).Mu;                                             // (B, D)
        if (latent_scale.item<float>() == 0f)
        {
            if (!training) throw new GenSharpException("latent ddpm: the latent scale is unset; train at least one step first");
            latent_scale.fill_(1.0 / Math.Max(1e-6, mu.std().item<float>()));
        }
        return mu * latent_scale;
    }

    /// <summary>Images in [0,1] (B, C, H, W) from scaled latents (B, D).</summary>
    public Tensor Decode(Tensor z)
    {
        vae.eval();
        return torch.sigmoid(vae.DecodeLogits(z / latent_scale));
    }
}
