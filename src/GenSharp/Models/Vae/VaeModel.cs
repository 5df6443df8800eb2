using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Vae;

/// <summary>
/// A VAE ready to train, sample, score and compress. Pixels are modelled as Bernoulli variables:
/// training binarizes each batch stochastically (x ~ Bernoulli(intensity)), evaluation binarizes the
/// test set stochastically with a fixed seed, so NLLs are in nats on binarized Fashion-MNIST.
/// </summary>
public sealed class VaeModel : FamilyModel<VaeConfig, ConvVae>, ILikelihoodModel, IAutoencoder, IPlainImageSampler
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "vae";

    public VaeModel(VaeConfig config, Device device) : base(FamilyName, config, new ConvVae(config), device) { }

    /// <summary>Adam over every weight.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("vae", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "recon", "kl" };
    public int LatentDim => _config.LatentDim;

    public string LikelihoodDescription =>
        "Bernoulli decoder on binarized pixels (test set binarized stochastically with a fixed seed); " +
        "neg_elbo is an upper bound on −log p(x), iwae_nll a tighter one";

    /// <summary>Negative β-ELBO per item and its parts, for float images in {0,1}. Returns (loss, recon, kl), each (B).</summary>
    public (Tensor Loss, Tensor Recon, Tensor Kl) NegativeElbo(Tensor x, double beta) => NegativeElbo(x, x, beta);

    /// <summary>
    /// Negative β-ELBO of <paramref name="target"/> with the posterior computed from
    /// <paramref name="encoderInput"/> (the same tensor, except when training a denoising VAE).
    /// </summary>
    public (Tensor Loss, Tensor Recon, Tensor Kl) NegativeElbo(Tensor encoderInput, Tensor target, double beta)
    {
        var (mu, logVar) = _net.Encode(encoderInput);
        var z = mu + (logVar * 0.5).exp() * torch.randn_like(mu);   // reparameterisation, (B, D)
        var recon = -VaeMath.BernoulliLogLikelihood(_net.DecodeLogits(z), target); // (B)
        var kl = VaeMath.KlToStandardNormal(mu, logVar);                          // (B)
        return (recon + beta * kl, recon, kl);
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var x01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne);
        var x = ImageTransforms.Binarize(x01, stochastic: true);
        var encoderInput = x;
        if (_config.InputNoise > 0)
        {
            // Denoising VAE (Im et al. 2017, arXiv:1511.06406): encode a corrupted grey-level copy,
            // reconstruct the clean binarized image. σ ~ U(0, input_noise) per image, so mild and
            // clean inputs are covered too.
            var sigma = torch.rand(x01.shape[0], 1, 1, 1, device: x01.device) * _config.InputNoise;
            encoderInput = (x01 + sigma * torch.randn_like(x01)).clamp(0, 1);
        }
        var (loss, recon, kl) = NegativeElbo(encoderInput, x, _config.Beta);
        var mean = loss.mean();
        ctx.Log("loss", mean);
        ctx.Log("recon", recon.mean());
        ctx.Log("kl", kl.mean());
        yield return new LossTerm(0, mean);
    }

    /// <summary>Draws from torch's global generator; the sampler has no options.</summary>
    public Tensor Sample(int n, Tensor? labels)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var z = torch.randn(n, _config.LatentDim, device: Device);
        return torch.sigmoid(_net.DecodeLogits(z)).cpu(); // Bernoulli means, (n, C, H, W)
    }

    /// <summary>Binarizes raw uint8 test images reproducibly (seeded generator, independent of the global RNG).</summary>
    public Tensor BinarizeForEval(Tensor images, Generator gen)
    {
        // The generator lives on the CPU, so the draws happen there.
        var x01 = ImageTransforms.ToFloat(images, PixelScale.ZeroOne).cpu();
        return ImageTransforms.Binarize(x01, stochastic: true, generator: gen).to(Device);
    }

    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator(0);
        var x = BinarizeForEval(images, gen);
        var (mu, logVar) = _net.Encode(x);
        // Score with the posterior mean as z would not be a bound; use a single-sample ELBO averaged
        // over a few draws to lower variance.
        Tensor total = torch.zeros(x.shape[0], device: Device);
        const int draws = 8;
        for (int i = 0; i < draws; i++)
        {
            var z = mu + (logVar * 0.5).exp() * torch.randn_like(mu);
            total = total + (-VaeMath.BernoulliLogLikelihood(_net.DecodeLogits(z), x) + VaeMath.KlToStandardNormal(mu, logVar));
        }
        return total / draws;
    }

    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator((ulong)settings.Seed);
        var x = BinarizeForEval(images, gen);
        var (loss, recon, kl) = NegativeElbo(x, beta: 1.0);
        var iwae = VaeMath.IwaeBound(_net, x, settings.ImportanceSamples);
        return new Dictionary<string, double>
        {
            ["neg_elbo"] = loss.sum().item<float>(),
            ["recon"] = recon.sum().item<float>(),
            ["kl"] = kl.sum().item<float>(),
            ["iwae_nll"] = (-iwae).sum().item<float>(),
        };
    }

    public Tensor Encode(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Encode(ImageTransforms.ToFloat(images, PixelScale.ZeroOne).to(Device)).Mu;
    }

    public Tensor Decode(Tensor latents)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return torch.sigmoid(_net.DecodeLogits(latents.to(Device)));
    }

    public Tensor Reconstruct(Tensor images01)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var (mu, _) = _net.Encode(images01.to(Device));
        return torch.sigmoid(_net.DecodeLogits(mu));
    }
}
