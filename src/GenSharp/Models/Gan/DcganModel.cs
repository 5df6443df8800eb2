using GenSharp.Data;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace GenSharp.Models.Gan;

/// <summary>
/// DCGAN training with the non-saturating loss (Goodfellow et al. 2014, §3): D maximises
/// log D(x) + log(1 − D(G(z))), G maximises log D(G(z)); both as BCE-with-logits, Adam(lr, β1 = 0.5).
/// </summary>
public sealed partial class DcganModel : IGenerativeModel
{
    readonly DcganNetworks _nets;
    readonly optim.Optimizer _optG, _optD;
    readonly DcganConfig _config;

    public DcganModel(DcganConfig config, Device device)
    {
        _config = config;
        Device = device;
        _nets = new DcganNetworks(config);
        _nets.to(device);
        _optG = optim.Adam(_nets.Generator.parameters(), lr: config.LearningRate, beta1: config.Beta1, beta2: config.Beta2);
        _optD = optim.Adam(_nets.Discriminator.parameters(), lr: config.LearningRate, beta1: config.Beta1, beta2: config.Beta2);
    }

    public string Family => DcganFamily.FamilyName;
    public FamilyConfig Config => _config;
    public Device Device { get; }
    public nn.Module Model => _nets;
    public DcganNetworks Networks => _nets;
    public IReadOnlyList<optim.Optimizer> Optimizers => new[] { _optG, _optD };
    public int ConditionalClasses => _config.Conditional ? _config.NumClasses : 0;

    public IReadOnlyDictionary<string, double> TrainStep(Tensor images, Tensor labels)
    {
        _nets.train();
        var real = ImageTransforms.ToFloat(images, PixelScale.MinusOneOne);   // (B, C, S, S) in [-1, 1]
        long b = real.shape[0];
        Tensor? y = _config.Conditional ? labels : null;
        var z = torch.randn(b, _config.LatentDim, device: Device);
        var fake = _nets.Generator.forward(z, y);
        var ones = torch.ones(b, device: Device);
        var zeros = torch.zeros(b, device: Device);

        // Discriminator step: real → 1, fake (detached, so G gets no gradient) → 0.
        var dReal = _nets.Discriminator.forward(real, y);
        var dFake = _nets.Discriminator.forward(fake.detach(), y);
        var lossD = binary_cross_entropy_with_logits(dReal, ones) + binary_cross_entropy_with_logits(dFake, zeros);
        _optD.zero_grad();
        lossD.backward();
        _optD.step();

        // Generator step, non-saturating: maximise log D(G(z)) ⇔ BCE(D(G(z)), 1).
        var dFakeForG = _nets.Discriminator.forward(fake, y);
        var lossG = binary_cross_entropy_with_logits(dFakeForG, ones);
        _optG.zero_grad();
        lossG.backward();
        _optG.step();

        return new Dictionary<string, double>
        {
            ["g_loss"] = lossG.item<float>(),
            ["d_loss"] = lossD.item<float>(),
            ["d_real"] = torch.sigmoid(dReal).mean().item<float>(),
            ["d_fake"] = torch.sigmoid(dFake).mean().item<float>(),
        };
    }

    public Tensor? Sample(int n, Tensor? labels)
    {
        using var _ = torch.no_grad();
        _nets.eval();
        Tensor? y = null;
        if (_config.Conditional)
        {
            y = labels is null ? torch.randint(_config.NumClasses, n, dtype: ScalarType.Int64) : labels;
            if (y.shape[0] != n) throw new GenSharpException($"expected {n} labels, got {y.shape[0]}");
            y = y.to(Device);
        }
        var z = torch.randn(n, _config.LatentDim, device: Device);
        return ((_nets.Generator.forward(z, y) + 1) / 2).clamp(0, 1).cpu(); // [-1,1] → [0,1]
    }

    public void Dispose()
    {
        _optG.Dispose();
        _optD.Dispose();
        _nets.Dispose();
    }
}
