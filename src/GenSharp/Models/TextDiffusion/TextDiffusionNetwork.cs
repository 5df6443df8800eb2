using GenSharp.Models.Clip;
using GenSharp.Models.Vae;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.TextDiffusion;

/// <summary>
/// The checkpoint root of <c>txt2img</c>: the trained <see cref="TextDenoiser"/> (<c>denoiser.*</c>), the frozen VAE
/// (<c>vae.*</c>), the frozen CLIP (<c>clip.*</c>; its text tower is used) and the latent scale (1/std of the first
/// training batch's latent means, as in <see cref="Diffusion.LatentDiffusionNetwork"/>).
/// </summary>
public sealed class TextDiffusionNetwork : Module
{
    private readonly TextDenoiser denoiser;
    private readonly ConvVae vae;
    private readonly ClipNetwork clip;
    private readonly Tensor latent_scale;
    private readonly int _context;

    public TextDiffusionNetwork(TextDiffusionConfig config, VaeConfig vaeConfig, ClipConfig clipConfig) : base(nameof(TextDiffusionNetwork))
    {
        vae = new ConvVae(vaeConfig);
        clip = new ClipNetwork(clipConfig);
        denoiser = new TextDenoiser(vaeConfig.LatentDim, clipConfig.TextWidth, config);
        latent_scale = torch.zeros(Array.Empty<long>());
        _context = clipConfig.ContextLength;
        RegisterComponents();
        foreach (var p in vae.parameters()) p.requires_grad = false;
        foreach (var p in clip.parameters()) p.requires_grad = false;
    }

    /// <summary>The trained part.</summary>
    public TextDenoiser Denoiser => denoiser;
    /// <summary>The frozen VAE.</summary>
    public ConvVae Vae => vae;
    /// <summary>The frozen CLIP.</summary>
    public ClipNetwork Clip => clip;

    /// <summary>Scaled latents (B, D) of float images in [0,1]; measures the scale on the first training call.</summary>
    public Tensor Encode(Tensor images01)
    {
        using var _ = torch.no_grad();
        vae.eval();
        var mu = vae.Encode(images01).Mu;
        if (latent_scale.item<float>() == 0f)
        {
            if (!training) throw new GenSharpException("txt2img: the latent scale is unset; train at least one step first");
            latent_scale.fill_(1.0 / Math.Max(1e-6, mu.std().item<float>()));
        }
        return mu * latent_scale;
    }

    /// <summary>Images in [0,1] (B, C, H, W) from scaled latents (B, D).</summary>
    public Tensor Decode(Tensor z)
    {
        vae.eval();
        if (latent_scale.item<float>() == 0f) throw new GenSharpException("txt2img: the latent scale is unset; train at least one step first");
        return torch.sigmoid(vae.DecodeLogits(z / latent_scale));
    }

    /// <summary>The frozen text encoder's token states (N, L, Wt) and token mask (N, L) of prompts, on <paramref name="device"/>.</summary>
    public (Tensor States, Tensor Mask) Text(IReadOnlyList<string> prompts, Device device)
    {
        using var _ = torch.no_grad();
        clip.eval();
        var tokens = ClipTokenizer.Encode(prompts, _context).to(device);
        var states = clip.EncodeText(tokens).States;
        var end = tokens.eq(ClipTokenizer.End).to(ScalarType.Int64).argmax(1, keepdim: true);
        var mask = torch.arange(tokens.shape[1], device: device).unsqueeze(0) <= end;
        return (states, mask);
    }
}
