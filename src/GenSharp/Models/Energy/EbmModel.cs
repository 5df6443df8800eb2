using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Energy;

/// <summary>
/// An energy-based model ready to train, sample, inpaint, denoise, evaluate and score. Images are scaled to [-1, 1];
/// p(x) ∝ exp(−E(x)). Training is contrastive divergence with short-run Langevin negatives started from a replay
/// buffer (Du &amp; Mordatch 2019): loss = mean E(x⁺) − mean E(x⁻) + α·mean(E(x⁺)² + E(x⁻)²). The replay buffer is a
/// buffer of <see cref="EnergyNet"/>, so it is saved in <c>model.safetensors</c> and a resumed run continues it.
/// </summary>
public sealed partial class EbmModel : FamilyModel<EbmConfig, EnergyNet>, ILikelihoodModel, IClampedInpainting
{
    /// <summary>Samples drawn once per evaluation for the energy statistics of samples.</summary>
    public const int EvalSamples = 256;

    (EvalSettings Settings, Dictionary<string, double> Stats)? _sampleStats;

    /// <summary>Registry name.</summary>
    public const string FamilyName = "ebm";

    public EbmModel(EbmConfig config, Device device) : base(FamilyName, config, new EnergyNet(config), device) { }

    /// <summary>Adam(lr, β1, β2) with gradient-norm clipping at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("ebm", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with
        {
            Beta1 = _config.Beta1,
            Beta2 = _config.Beta2,
            GradClip = _config.GradClip,
        },
    };
    /// <summary>The objective and its contrastive part; the energies themselves are not losses.</summary>
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "cd" };

    public string LikelihoodDescription =>
        "EBM energy E(x) on pixels scaled to [-1, 1]: −log p(x) = E(x) + log Z with log Z unknown, so energies are relative " +
        "(no nats, no bits/dim); score: E(x) (log Z is one constant, so rankings and AUROC are those of −log p). " +
        $"eval: mean energy of the test images vs {EvalSamples} Langevin samples (sample_steps from the config), the replay buffer and uniform noise";

    /// <summary>
    /// Energies (B) of float images in [-1, 1] (B, C, H, W) on the model's device, in eval mode (the spectral-norm power
    /// iteration does not advance, so equal inputs give equal energies). Differentiable.
    /// </summary>
    public Tensor Energy(Tensor x)
    {
        _net.eval();
        return _net.forward(x);
    }

    /// <summary>
    /// Langevin chains with this model's step, noise and drift clip, kept in [-1, 1] (eval mode: the spectral-norm
    /// power iteration does not advance). Returns the end points (B, C, H, W) in [-1, 1].
    /// </summary>
    public Tensor RunLangevin(Tensor start, int steps, Tensor? knownMask = null, Tensor? known = null, Generator? gen = null)
    {
        bool wasTraining = _net.training;
        _net.eval();
        try
        {
            return GenSharp.Models.Energy.Langevin.Run(_net.forward, start, steps, _config.LangevinStep, _config.LangevinNoise,
                _config.LangevinDriftClip, (-1, 1), knownMask, known, gen);
        }
        finally { _net.train(wasTraining); }
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        var pos = ImageTransforms.ToFloat(images, PixelScale.MinusOneOne);                 // (B, C, H, W)
        if (_config.DataNoise > 0) pos = pos + _config.DataNoise * torch.randn_like(pos);
        long b = pos.shape[0];
        var (starts, indices, _) = ReplayBuffer.Draw(_net.Replay, b, _config.FreshFraction);
        var neg = RunLangevin(starts, _config.LangevinSteps);                                   // (B, C, H, W), detached
        ReplayBuffer.Store(_net.Replay, indices, neg);

        _net.train();
        var ePos = _net.forward(pos);                                                        // (B)
        var eNeg = _net.forward(neg);                                                        // (B)
        // Contrastive divergence: lower the energy of data, raise that of the model's samples; the L2 term keeps
        // the energies near 0 (Du & Mordatch 2019, §3.3).
        var cd = ePos.mean() - eNeg.mean();
        var reg = (ePos.square() + eNeg.square()).mean();
        var loss = cd + _config.EnergyPenalty * reg;
        ctx.Log("loss", loss);
        ctx.Log("e_pos", ePos.mean());
        ctx.Log("e_neg", eNeg.mean());
        ctx.Log("cd", cd);
        yield return new LossTerm(0, loss) { Diagnose = () => "ebm: lower learning_rate or langevin_step, or raise energy_penalty" };
    }

    public Tensor Sample(int n, Tensor? labels) => Sample(n, _config.SampleSteps, _config.SampleInit == "buffer");

    /// <summary>
    /// <paramref name="n"/> Langevin chains of <paramref name="steps"/> steps from uniform noise in [-1, 1] or from random
    /// replay-buffer entries; returns images (n, C, H, W) in [0, 1] on the CPU.
    /// </summary>
    public Tensor Sample(int n, int steps, bool fromBuffer, Generator? gen = null)
    {
        using var scope = torch.NewDisposeScope();
        var s = _config.ImageSize;
        Tensor start = fromBuffer
            ? _net.Replay.index_select(0, torch.randint(_net.Replay.shape[0], new long[] { n }, device: Device))
            : torch.rand(n, _config.ImageChannels, s, s, device: Device) * 2 - 1;
        var x = RunLangevin(start, steps, gen: gen);
        return ((x + 1) / 2).clamp(0, 1).cpu().MoveToOuterDisposeScope();
    }

    public Tensor Inpaint(Tensor images, Tensor knownMask, int? steps = null, Generator? gen = null)
    {
        using var scope = torch.NewDisposeScope();
        var known = ImageTransforms.ToFloat(images.to(Device), PixelScale.MinusOneOne);        // (B, C, H, W)
        var mask = knownMask.to(Device).to(ScalarType.Bool).expand_as(known);
        var start = (gen is null ? torch.rand_like(known) : torch.rand(known.shape, generator: gen).to(Device)) * 2 - 1;
        var x = RunLangevin(start, steps ?? _config.SampleSteps, mask, known, gen);
        // Back to [0, 1] from the uint8 input itself, so the known pixels are the input's exactly.
        var original = ImageTransforms.ToFloat(images.cpu(), PixelScale.ZeroOne);
        var filled = ((x.cpu() + 1) / 2).clamp(0, 1);
        return torch.where(mask.cpu(), original, filled).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Denoises float images <paramref name="noisy01"/> (B, C, H, W) (pixels nominally in [0, 1]) by Langevin dynamics
    /// started at them (<paramref name="steps"/> null = denoise_steps): the chain descends the energy towards nearby likely
    /// images. Returns (B, C, H, W) in [0, 1] on the CPU.
    /// </summary>
    public Tensor Denoise(Tensor noisy01, int? steps = null, Generator? gen = null)
    {
        using var scope = torch.NewDisposeScope();
        var start = (noisy01.to(Device).to(ScalarType.Float32) * 2 - 1).clamp(-1, 1);
        var x = RunLangevin(start, steps ?? _config.DenoiseSteps, gen: gen);
        return ((x.cpu() + 1) / 2).clamp(0, 1).MoveToOuterDisposeScope();
    }

    /// <summary>E(x) (B) of raw uint8 images: −log p(x) up to the constant log Z, the anomaly score.</summary>
    public Tensor NegativeLogLikelihood(Tensor images)
    {
        using var _ = torch.no_grad();
        _net.eval();
        return _net.forward(ImageTransforms.ToFloat(images, PixelScale.MinusOneOne));
    }

    /// <summary>
    /// Sums over the batch of the test energies (energy_test, energy_test_sq); the statistics of samples, replay buffer
    /// and noise are constants computed once per settings (seeded) and returned times the batch size, so that the
    /// dataset average is the value itself.
    /// </summary>
    public IReadOnlyDictionary<string, double> EvaluateBatch(Tensor images, EvalSettings settings)
    {
        var stats = ReferenceStats(settings);
        using var _ = torch.no_grad();
        _net.eval();
        var e = _net.forward(ImageTransforms.ToFloat(images, PixelScale.MinusOneOne)).to_type(ScalarType.Float64);   // (B)
        double b = images.shape[0];
        var r = new Dictionary<string, double>
        {
            ["energy_test"] = e.sum().item<double>(),
            ["energy_test_sq"] = e.square().sum().item<double>(),
        };
        foreach (var (k, v) in stats) r[k] = v * b;
        return r;
    }

    /// <summary>Mean and std of E over <see cref="EvalSamples"/> Langevin samples, buffer entries and uniform noise.</summary>
    Dictionary<string, double> ReferenceStats(EvalSettings settings)
    {
        if (_sampleStats is { } cached && cached.Settings == settings) return cached.Stats;
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator((ulong)settings.Seed);
        var s = _config.ImageSize;
        var noise = torch.rand(new long[] { EvalSamples, _config.ImageChannels, s, s }, generator: gen).to(Device) * 2 - 1;
        var samples = RunLangevin(noise, _config.SampleSteps, gen: gen);
        long nb = Math.Min(EvalSamples, _net.Replay.shape[0]);
        var buffer = _net.Replay.narrow(0, 0, nb);
        using var _ = torch.no_grad();
        _net.eval();
        var stats = new Dictionary<string, double>();
        void Add(string name, Tensor x)
        {
            var e = _net.forward(x).to_type(ScalarType.Float64);
            stats[$"energy_{name}"] = e.mean().item<double>();
            stats[$"energy_{name}_std"] = x.shape[0] > 1 ? e.std().item<double>() : 0;
        }
        Add("samples", samples);
        Add("buffer", buffer);
        Add("noise", noise);
        stats["eval_samples"] = EvalSamples;
        stats["sample_steps"] = _config.SampleSteps;
        _sampleStats = (settings, stats);
        return stats;
    }
}
