using GenSharp.Data;
using GenSharp.Training;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Gan;

/// <summary>
/// DCGAN training with the non-saturating loss (Goodfellow et al. 2014, §3): D maximises
/// log D(x) + log(1 − D(G(z))), G maximises log D(G(z)); both as BCE-with-logits, Adam(lr, β1 = 0.5).
/// </summary>
public sealed class DcganModel : FamilyModel<DcganConfig, DcganNetworks>, IPlainImageSampler
{
    const int Generator = 0, Discriminator = 1;   // optimizer order (also that of optimizer.bin)

    /// <summary>Registry name.</summary>
    public const string FamilyName = "dcgan";

    public DcganModel(DcganConfig config, Device device) : base(FamilyName, config, new DcganNetworks(config), device) { }

    /// <summary>The generator and the discriminator (<see cref="FamilyModel{TConfig, TNet}.Network"/>).</summary>
    public DcganNetworks Networks => _net;
    /// <summary>Adam(lr, β1, β2) for the generator, then one for the discriminator.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("generator", OptimizerAlgorithm.Adam, _net.Generator.parameters(), _config.LearningRate) with { Beta1 = _config.Beta1, Beta2 = _config.Beta2 },
        OptimizerSpec.Single("discriminator", OptimizerAlgorithm.Adam, _net.Discriminator.parameters(), _config.LearningRate) with { Beta1 = _config.Beta1, Beta2 = _config.Beta2 },
    };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "g_loss", "d_loss" };
    public override int ConditionalClasses => _config.Conditional ? _config.NumClasses : 0;

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var real = ImageTransforms.ToFloat(images, PixelScale.MinusOneOne);   // (B, C, S, S) in [-1, 1]
        long b = real.shape[0];
        Tensor? y = _config.Conditional ? labels : null;
        var z = torch.randn(b, _config.LatentDim, device: Device);
        var fake = _net.Generator.forward(z, y);
        var ones = torch.ones(b, device: Device);
        var zeros = torch.zeros(b, device: Device);

        // Discriminator step: real → 1, fake (detached, so G gets no gradient) → 0.
        var dReal = _net.Discriminator.forward(real, y);
        var dFake = _net.Discriminator.forward(fake.detach(), y);
        var lossD = binary_cross_entropy_with_logits(dReal, ones) + binary_cross_entropy_with_logits(dFake, zeros);
        yield return new LossTerm(Discriminator, lossD);

        // Generator step against the discriminator just updated, non-saturating: maximise log D(G(z)) ⇔ BCE(D(G(z)), 1).
        var dFakeForG = _net.Discriminator.forward(fake, y);
        var lossG = binary_cross_entropy_with_logits(dFakeForG, ones);
        yield return new LossTerm(Generator, lossG);

        ctx.Log("g_loss", lossG);
        ctx.Log("d_loss", lossD);
        ctx.Log("d_real", torch.sigmoid(dReal).mean());
        ctx.Log("d_fake", torch.sigmoid(dFake).mean());
    }

    /// <summary>Draws from torch's global generator; the sampler has no options.</summary>
    public Tensor Sample(int n, Tensor? labels)
    {
        using var _ = torch.no_grad();
        _net.eval();
        Tensor? y = null;
        if (_config.Conditional)
        {
            y = labels is null ? torch.randint(_config.NumClasses, n, dtype: ScalarType.Int64) : labels;
            if (y.shape[0] != n) throw new GenSharpException($"expected {n} labels, got {y.shape[0]}");
            y = y.to(Device);
        }
        var z = torch.randn(n, _config.LatentDim, device: Device);
        return ((_net.Generator.forward(z, y) + 1) / 2).clamp(0, 1).cpu(); // [-1,1] → [0,1]
    }
}
