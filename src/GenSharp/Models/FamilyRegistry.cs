using GenSharp.Models.Audio;
using GenSharp.Models.Autoregressive;
using GenSharp.Models.Classifier;
using GenSharp.Models.Clip;
using GenSharp.Models.Diffusion;
using GenSharp.Models.Encoders;
using GenSharp.Models.Energy;
using GenSharp.Models.Flows;
using GenSharp.Models.Gan;
using GenSharp.Models.Gpt;
using GenSharp.Models.TextDiffusion;
using GenSharp.Models.Vae;
using GenSharp.Models.Video;

namespace GenSharp.Models;

/// <summary>Maps family names to families, so front ends treat every family alike.</summary>
public static class FamilyRegistry
{
    static readonly Dictionary<string, IFamily> Families = new(StringComparer.Ordinal);

    static FamilyRegistry()
    {
        Register(new Family<VaeConfig>(VaeModel.FamilyName, (config, device) => new VaeModel(config, device),
            "convolutional VAE, Gaussian latent, Bernoulli decoder; ELBO/IWAE likelihood, anomaly scores, denoising, compression",
            new("0.08 s", "300 MB", 2000), defaultBatchSize: 128));
        Register(new Family<ClassifierConfig>(ClassifierModel.FamilyName, (config, device) => new ClassifierModel(config, device),
            "CNN image classifier (not generative): test accuracy, and the feature extractor of eval --classifier (FD-cls, KID, precision/recall)",
            new("0.25 s", "550 MB", 2000), defaultBatchSize: 128));
        Register(new Family<DcganConfig>(DcganModel.FamilyName, (config, device) => new DcganModel(config, device),
            "DCGAN, non-saturating loss, optional class conditioning and spectral norm",
            new("0.3 s", "400 MB", 1500)));
        Register(new Family<PixelCnnConfig>(PixelCnnModel.FamilyName, (config, device) => new PixelCnnModel(config, device),
            "Gated PixelCNN, autoregressive over pixels; exact likelihood (256-way softmax or Bernoulli), class-conditional, image completion",
            new("3 s", "3.7 GB", 300, "slow and memory-hungry at 64 channels; set channels=32 for a quick look")));
        Register(new Family<GlowConfig>(GlowModel.FamilyName, (config, device) => new GlowModel(config, device),
            "Glow flow: ActNorm, invertible 1×1 convs, affine coupling, multi-scale learned priors; exact likelihood, temperature sampling, exact encode/decode",
            new("0.25 s", "500 MB", 1000)));
        Register(new Family<RealNvpConfig>(RealNvpModel.FamilyName, (config, device) => new RealNvpModel(config, device),
            "RealNVP normalizing flow: multi-scale affine couplings, batch norm; exact likelihood (bits/dim), temperature sampling, invertible encoding",
            new("0.5 s", "650 MB", 1000)));
        // Sampling from an EMA of the weights is part of the DDPM recipe (Ho et al. used 0.9999 over 800k steps).
        Register(new Family<DdpmConfig>(DdpmModel.FamilyName, (config, device) => new DdpmModel(config, device),
            "denoising diffusion (UNet, linear/cosine schedule, ε or v); DDPM/DDIM sampling, classifier-free guidance, inpainting, latent diffusion",
            new("1 s", "1.2 GB", 2000, "good samples need ~20,000"), defaultEmaDecay: 0.999));
        Register(new GptFamily());
        Register(new BertFamily());
        Register(new Family<ClipConfig>(ClipModel.FamilyName, (config, device) => new ClipModel(config, device),
            "small CLIP (causal text transformer + CNN image encoder, symmetric contrastive loss) on captioned Fashion-MNIST; zero-shot accuracy, attribute agreement, CLIP score; the text encoder of prompted diffusion",
            null, defaultBatchSize: 128));
        Register(new WaveNetFamily());
        Register(new Speech.TtsFamily());
        Register(new Music.MusicFamily());
        Register(new Family<TextDiffusionConfig>(TextDiffusionModel.FamilyName, (config, device) => new TextDiffusionModel(config, device),
            "prompted latent diffusion: a denoiser of a trained vae's latents cross-attending to a trained clip's text tokens; classifier-free guidance with negative prompts, image-to-image (SDEdit), any scheduler",
            null, defaultEmaDecay: 0.999));
        Register(new Family<RbmConfig>(RbmModel.FamilyName, (config, device) => new RbmModel(config, device),
            "Bernoulli–Bernoulli RBM on binarized pixels, CD-k or persistent CD; Gibbs sampling; log Z and test log-likelihood by AIS; free-energy anomaly scores",
            new("0.02 s", "300 MB", 6000), defaultBatchSize: 100));
        Register(new Family<DbnConfig>(DbnModel.FamilyName, (config, device) => new DbnModel(config, device),
            "deep belief net: greedily stacked RBMs (CD-k/PCD); Gibbs in the top RBM + downward pass; variational lower bound with AIS for the top RBM",
            new("0.02 s", "300 MB", 4000), defaultBatchSize: 100));
        Register(new Family<EbmConfig>(EbmModel.FamilyName, (config, device) => new EbmModel(config, device),
            "convolutional energy-based model trained by short-run Langevin contrastive divergence with a replay buffer; Langevin sampling, inpainting and denoising; energy anomaly scores",
            new("2 s", "650 MB", 300, "each step runs langevin_steps Langevin steps")));
        Register(new VideoDiffusionFamily());
        Register(new VideoClassifierFamily());
    }

    /// <summary>Adds a family (name must be new).</summary>
    public static void Register(IFamily family)
    {
        if (!Families.TryAdd(family.Name, family))
            throw new InvalidOperationException($"family '{family.Name}' is registered twice");
    }

    /// <summary>Every registered family, by name.</summary>
    public static IReadOnlyList<IFamily> All => Families.Values.OrderBy(f => f.Name, StringComparer.Ordinal).ToList();

    /// <summary>The family called <paramref name="name"/>, or a one-line error listing the known ones.</summary>
    public static IFamily Get(string name) =>
        Families.TryGetValue(name, out var f) ? f
        : throw new GenSharpException($"unknown family '{name}'; known families: {string.Join(", ", Families.Keys.Order())}");
}
