using GenSharp.Data;
using GenSharp.Training;
using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// RealNVP ready to train, sample, score and encode. Training maximises the exact log-density of the
/// uniformly dequantized images y = (x + u)/256 (<see cref="ImageTransforms.Dequantize"/>); the loss is
/// −log p(y) + D·log 256 nats per image, an upper bound on −log P(x) of the 8-bit pixels
/// (<see cref="FlowMath.DiscreteNll"/>), also reported as bits/dim.
/// </summary>
public sealed class RealNvpModel : FamilyModel<RealNvpConfig, RealNvpFlow>, ILikelihoodModel, ITemperatureSampler, IAutoencoder
{
    readonly Parameter[] _decayed;
    readonly long _dims;

    /// <summary>Registry name.</summary>
    public const string FamilyName = "realnvp";

    public RealNvpModel(RealNvpConfig config, Device device) : base(FamilyName, config, new RealNvpFlow(config), device)
    {
        _dims = (long)config.ImageChannels * config.ImageSize * config.ImageSize;
        // The L2 penalty covers the conditioners' convolution kernels (not biases, scales or norms).
        _decayed = _net.named_parameters().Where(p => p.name.Contains(".conditioner.") && p.parameter.dim() == 4)
            .Select(p => p.parameter).ToArray();
    }

    /// <summary>The flow.</summary>
    public RealNvpFlow Flow => _net;
    /// <summary>Adam with gradient-norm clipping at grad_clip (the L2 penalty is part of the loss, not of Adam).</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("realnvp", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with { GradClip = _config.GradClip } };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "bpd" };
    public int LatentDim => (int)_net.LatentDim;

    public string LikelihoodDescription =>
        "exact log-density of the uniformly dequantized images (flow change of variables, log-det of every layer " +
        "incl. the preprocessing); as −log P(x) of the 8-bit pixels it is an upper bound (Theis et al. 2016)";

    /// <summary>−log P(x) bound in nats per item (B) for dequantized images y in [0,1): −log p(y) + D·log 256.</summary>
    public Tensor DiscreteNll(Tensor y) => FlowMath.DiscreteNll(_net.LogProb(y), _dims);

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var (loss, y) = FlowMath.TrainingLoss(images, DiscreteNll, _dims, ctx);
        var objective = loss;
        if (_config.WeightDecay > 0)
            objective = loss + _decayed.Select(w => w.square().sum()).Aggregate((a, b) => a + b) * _config.WeightDecay;
        yield return new LossTerm(0, objective)
        {
            Diagnose = () => $"realnvp{Diagnose(y)}: lower learning_rate or grad_clip, or raise logit_alpha",
        };
    }

    /// <summary>Names the first layer whose output or log-determinant is not finite, for the divergence message.</summary>
    string Diagnose(Tensor y)
    {
        using var _ = torch.no_grad();
        string? first = null;
        _net.Forward(y, (name, output, logDet) =>
        {
            if (first is null && !(output.isfinite().all().item<bool>() && logDet.isfinite().all().item<bool>()))
                first = name;
        });
        return first is null ? "" : $" (first non-finite output or log-det: {first})";
    }

    /// <summary>Every latent ~ N(0, T²·I), then x = f⁻¹(z), clamped to [0,1]: (n, C, H, W) on the CPU.</summary>
    public Tensor Sample(int n, Tensor? labels, double temperature)
    {
        if (!(temperature >= 0) || !double.IsFinite(temperature))
            throw new GenSharpException($"temperature must be a finite number ≥ 0, got {temperature}");
        using var _ = torch.no_grad();
        _net.eval();
        var z = _net.LatentShapes.Select(s => torch.randn(n, s.C, s.H, s.W, device: Device) * temperature).ToList();
        return _net.Inverse(z).clamp(0, 1).cpu();
    }

    /// <summary>Dequantizes raw uint8 images with noise from <paramref name="gen"/> (a CPU generator), on the model's device.</summary>
    Tensor DequantizeForEval(Tensor images, Generator gen) => ImageTransforms.Dequantize(images.cpu(), gen).to(Device);

    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator(0);
        return DiscreteNll(DequantizeForEval(images, gen));
    }

    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        using var _ = torch.no_grad();
        _net.eval();
        using var gen = new Generator((ulong)settings.Seed);
        return new Dictionary<string, double> { ["nll"] = DiscreteNll(DequantizeForEval(images, gen)).to(ScalarType.Float64).sum().item<double>() };
    }

    /// <summary>All latents, flattened and concatenated (B, D), of the pixel centres (x + 0.5)/256 (no noise).</summary>
    public Tensor Encode(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var x = (images.to(Device).to(ScalarType.Float32) + 0.5) / 256;
        return RealNvpFlow.Flatten(_net.Forward(x).Latents);
    }

    /// <summary>x = f⁻¹(z) for flattened latents (B, D), clamped to [0,1], on the model's device.</summary>
    public Tensor Decode(Tensor latents)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Inverse(_net.Unflatten(latents.to(Device))).clamp(0, 1);
    }

    /// <summary>
    /// Maps intensities v ∈ [0,1] to the flow's pixel-centre scale (255v + 0.5)/256 (where <see cref="Encode"/>
    /// puts 8-bit pixels), encodes, decodes and maps back, so the result is comparable with the input.
    /// </summary>
    public Tensor Reconstruct(Tensor images01)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var x = (images01.to(Device).clamp(0, 1) * 255 + 0.5) / 256;
        var back = _net.Inverse(_net.Forward(x).Latents);
        return ((back * 256 - 0.5) / 255).clamp(0, 1);
    }
}
