using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Flows;

/// <summary>
/// Glow ready to train, sample (with temperature), score and encode/decode exactly. Images are
/// dequantized, y = (x + u)/256, and shifted to [−0.5, 0.5) (log-det 0); the loss is the discrete NLL
/// −log p(y) + D·log 256 in nats per image (Kingma &amp; Dhariwal 2018, §2; Theis et al. 2016).
/// Adam with gradient-norm clipping and linear learning-rate warm-up.
/// </summary>
public sealed class GlowModel : FamilyModel<GlowConfig, GlowNetwork>, ILikelihoodModel, ITemperatureSampler, IAutoencoder
{
    readonly long _dims;

    /// <summary>Registry name.</summary>
    public const string FamilyName = "glow";

    public GlowModel(GlowConfig config, Device device) : base(FamilyName, config, new GlowNetwork(Validated(config)), device) =>
        _dims = (long)config.ImageChannels * config.ImageSize * config.ImageSize;

    static GlowConfig Validated(GlowConfig config)
    {
        config.Validate();
        return config;
    }

    /// <summary>Adam with linear learning-rate warm-up over warmup_steps and gradient-norm clipping at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("glow", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with
        {
            GradClip = _config.GradClip,
            Schedule = LrSchedule.LinearWarmup(_config.WarmupSteps),
        },
    };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "bpd" };
    /// <summary>The step counter checkpoints kept before the trainer owned it.</summary>
    public override IReadOnlyCollection<string> ObsoleteTensorNames => new[] { "steps_done" };
    public int LatentDim => (int)_dims;

    public string LikelihoodDescription =>
        "exact log-density of the uniformly dequantized images (flow change of variables, log-det of every layer " +
        "incl. the preprocessing); as −log P(x) of the 8-bit pixels it is an upper bound (Theis et al. 2016)";

    /// <summary>Images in [0,1) → flow input in [−0.5, 0.5); a shift, so log-det 0.</summary>
    static Tensor Preprocess(Tensor y01) => y01 - 0.5;

    /// <summary>Flow output → images in [0,1] (clamped).</summary>
    static Tensor Postprocess(Tensor x) => (x + 0.5).clamp(0.0, 1.0);

    /// <summary>Discrete NLL in nats per item (B) of images dequantized to <paramref name="y01"/> in [0,1).</summary>
    public Tensor DiscreteNll(Tensor y01) => FlowMath.DiscreteNll(_net.LogDensity(Preprocess(y01)), _dims);

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var (loss, _) = FlowMath.TrainingLoss(images, DiscreteNll, _dims, ctx);
        yield return new LossTerm(0, loss) { Diagnose = () => "glow: lower learning_rate, grad_clip or raise warmup_steps" };
    }

    public Tensor Sample(int n, Tensor? labels, double temperature)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        return Postprocess(_net.Inverse(null, n, temperature)).cpu().MoveToOuterDisposeScope();
    }

    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return SeededNll(images, 0);
    }

    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var nll = SeededNll(images, settings.Seed);
        return new Dictionary<string, double> { ["nll"] = nll.sum().to_type(ScalarType.Float64).item<double>() };
    }

    /// <summary>NLL per item with the dequantization noise drawn on the CPU from a generator seeded with <paramref name="seed"/>.</summary>
    Tensor SeededNll(Tensor images, long seed)
    {
        using var gen = new Generator((ulong)seed);
        return DiscreteNll(ImageTransforms.Dequantize(images.cpu(), gen).to(Device));
    }

    /// <summary>All latents, flattened and concatenated, (B, D), of the pixel centres (x + 0.5)/256 — no noise.</summary>
    public Tensor Encode(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var centres = (images.to(Device).to_type(ScalarType.Float32) + 0.5) / 256.0;
        return EncodeFloat(centres);
    }

    Tensor EncodeFloat(Tensor images01)
    {
        var (latents, _, _) = _net.Forward(Preprocess(images01));
        return GlowNetwork.Flatten(latents);
    }

    public Tensor Decode(Tensor latents)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return DecodeFlat(latents.to(Device));
    }

    /// <summary>Flattened latents (B, D) on the device → images in [0,1].</summary>
    Tensor DecodeFlat(Tensor z) => Postprocess(_net.Inverse(_net.Unflatten(z).Cast<Tensor?>().ToList(), z.shape[0], 1.0));

    public Tensor Reconstruct(Tensor images01)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return DecodeFlat(EncodeFloat(images01.to(Device).to_type(ScalarType.Float32)));
    }
}
