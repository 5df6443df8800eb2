using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models.Vae;
using GenSharp.Sampling;
using GenSharp.Training;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// A DDPM ready to train and sample. Training (Ho et al. 2020, Algorithm 1): t ~ U{0..T−1}, ε ~ N(0, I),
/// x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε, loss = ‖ε − ε_θ(x_t, t)‖² (or the same on v with v-prediction, Salimans &amp; Ho
/// 2022 §4), images scaled to [−1, 1]. Sampling runs any <see cref="DiffusionScheduler"/>.
/// With <c>latent_from</c> the same process runs on a frozen VAE's scaled latents (<see cref="LatentDiffusionNetwork"/>).
/// </summary>
public sealed partial class DdpmModel : FamilyModel<DdpmConfig, nn.Module>, IDiffusionSampler, IInpainting
{
    readonly DdpmUNet? _unet;
    readonly LatentDiffusionNetwork? _latent;
    readonly NoiseSchedule _schedule;

    /// <summary>Registry name.</summary>
    public const string FamilyName = "ddpm";

    public DdpmModel(DdpmConfig config, Device device) : this(Built(config), device) { }

    // The checkpoint root is the UNet, or the latent network (denoiser + frozen VAE); a latent config gains its VAE's.
    DdpmModel((DdpmConfig Config, nn.Module Net) built, Device device) : base(FamilyName, built.Config, built.Net, device)
    {
        _schedule = new NoiseSchedule(built.Config.Schedule, built.Config.Timesteps);
        _unet = built.Net as DdpmUNet;
        _latent = built.Net as LatentDiffusionNetwork;
    }

    /// <summary>
    /// The UNet's GroupNorms are slow on channels-last activations at 28×28 with 4 channels a group (the whole norm
    /// fwd + bwd 10× the default layout's); its convolutions run blocked where that is exact, and the activations stay
    /// in the default layout (+6 % training throughput on 2 threads, docs/benchmarks.md).
    /// </summary>
    protected override bool BlockedConvolutions => true;

    static (DdpmConfig, nn.Module) Built(DdpmConfig config)
    {
        if (!config.IsLatent) return (config, new DdpmUNet(config));
        Dictionary<string, Tensor>? vaeWeights = null;
        var vaeConfig = config.LatentVae ?? ReadVae(config.LatentFrom!, out vaeWeights);
        var latentConfig = config with { LatentVae = vaeConfig };
        latentConfig.Validate();
        var latent = new LatentDiffusionNetwork(latentConfig, vaeConfig);
        if (vaeWeights is not null)
        {
            ModuleState.Load(latent.Vae, vaeWeights, config.LatentFrom!);
            foreach (var t in vaeWeights.Values) t.Dispose();
        }
        return (latentConfig, latent);
    }

    /// <summary>Reads a trained vae checkpoint's config and weights (EMA weights when the run kept them).</summary>
    static VaeConfig ReadVae(string path, out Dictionary<string, Tensor> weights)
    {
        if (!Checkpoint.Exists(path))
            throw new GenSharpException($"latent_from={path}: no checkpoint there; train a vae first and pass its checkpoint folder");
        var vae = Checkpoint.Open(path);
        if (vae.Config is not VaeConfig config)
            throw new GenSharpException($"latent_from={path}: holds a {vae.Family.Name} checkpoint; latent diffusion needs a vae checkpoint");
        weights = vae.ReadWeights(preferEma: true);   // CPU clones, EMA weights when the run kept them; the caller disposes
        return config;
    }

    /// <summary>The noise-prediction network (pixel space), or null for latent diffusion.</summary>
    public DdpmUNet? UNet => _unet;
    /// <summary>The latent network (denoiser + frozen VAE + scale), or null in pixel space.</summary>
    public LatentDiffusionNetwork? Latent => _latent;
    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule => _schedule;
    /// <summary>Adam over the noise-prediction network (the latent variant's VAE stays frozen), clipped at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("ddpm", OptimizerAlgorithm.Adam, _unet?.parameters() ?? _latent!.Denoiser.parameters(), _config.LearningRate) with { GradClip = _config.GradClip },
    };
    public override int ConditionalClasses => _config.Conditional ? _config.NumClasses : 0;
    public int TrainTimesteps => _config.Timesteps;
    /// <summary>Label of the "no class" embedding row used for unconditional passes.</summary>
    public int NullClass => _config.NumClasses;

    /// <summary>Network output (ε or v) for x_t (B, C, H, W), steps t (B) and labels (B, may be the null class).</summary>
    public Tensor Predict(Tensor xt, Tensor t, Tensor? labels) =>
        _unet?.Forward(xt, t, _config.Conditional ? labels : null) ?? _latent!.Denoiser.Forward(xt, t, _config.Conditional ? labels : null);

    /// <summary>Shape of one batch of diffused data: (n, C, H, W) for pixels, (n, D) for latents.</summary>
    long[] DataShape(long n) => _latent is null
        ? new[] { n, _config.ImageChannels, _config.ImageSize, _config.ImageSize }
        : new[] { n, _config.LatentVae!.LatentDim };

    /// <summary>Diffused data → images in [0,1] on the model's device.</summary>
    Tensor ToImages01(Tensor x) => _latent is null ? ((x + 1) / 2).clamp(0, 1) : _latent.Decode(x);

    /// <summary>The regression loss of Algorithm 1 on float images in [−1, 1] (mean over batch and pixels).</summary>
    public Tensor Loss(Tensor x0, Tensor labels)
    {
        long b = x0.shape[0];
        var t = torch.randint(_config.Timesteps, new[] { b }, dtype: ScalarType.Int64, device: Device); // (B)
        var noise = torch.randn_like(x0);                                                                 // (B, C, H, W)
        var xt = _schedule.AddNoise(x0, noise, t);
        var target = _config.Prediction == PredictionType.Epsilon ? noise : _schedule.VelocityTarget(x0, noise, t);
        Tensor? y = null;
        if (_config.Conditional)
        {
            // Classifier-free guidance training: drop the label to "no class" with probability label_dropout.
            var drop = torch.rand(b, device: Device) < _config.LabelDropout;
            y = torch.where(drop, torch.full_like(labels, NullClass), labels);
        }
        return nn.functional.mse_loss(Predict(xt, t, y), target);
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var x0 = _latent is null
            ? ImageTransforms.ToFloat(images, PixelScale.MinusOneOne)                 // (B, C, H, W) in [−1, 1]
            : _latent.Encode(ImageTransforms.ToFloat(images, PixelScale.ZeroOne));    // (B, D), unit variance
        var loss = Loss(x0, labels);
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    public Tensor Sample(int n, Tensor? labels)
    {
        var scheduler = CreateScheduler(_config.Sampler, _config.SamplerSteps, 0);
        return Sample(n, labels, scheduler, _config.SamplerGuidance, null);
    }

    public DiffusionScheduler CreateScheduler(string name, int steps, double eta = 0)
    {
        if (steps < 1 || steps > _config.Timesteps)
            throw new ParameterException("steps", $"must be in [1, {_config.Timesteps}] (the model's timesteps), got {steps}");
        if (!(eta >= 0 && double.IsFinite(eta)))
            throw new ParameterException("eta", $"must be a finite number ≥ 0, got {eta}");
        // Pixels live in [−1, 1], so clamping x̂0 there helps; latents are unbounded.
        var scheduler = Schedulers.Create(name, _schedule, _config.Prediction, eta, clipSample: _latent is null);
        scheduler.SetTimesteps(steps);
        return scheduler;
    }

    public Tensor Sample(int n, Tensor? labels, DiffusionScheduler scheduler, double guidanceScale, Generator? gen,
                         Action<int, Tensor>? onStep = null) => Sample(n, labels, scheduler, guidanceScale, gen, onStep, null);

    /// <summary>As the other overload, with x_T passed through <paramref name="markNoise"/> (e.g. a Tree-Ring key) first.</summary>
    public Tensor Sample(int n, Tensor? labels, DiffusionScheduler scheduler, double guidanceScale, Generator? gen,
                         Action<int, Tensor>? onStep, Func<Tensor, Tensor>? markNoise)
    {
        using var _ = torch.no_grad();
        _net.eval();
        var y = ResolveLabels(n, labels, gen);
        var x = Noise(DataShape(n), gen);   // x_T, (n, C, H, W) or (n, D)
        if (markNoise is not null) x = markNoise(x);
        // onStep always sees images in [−1, 1]: latents are decoded first.
        Action<int, Tensor>? report = onStep is null ? null : _latent is null ? onStep : (i, z) => onStep(i, ToImages01(z) * 2 - 1);
        report?.Invoke(0, x);
        int i = 1;
        foreach (long t in scheduler.Timesteps.ToArray())
        {
            using var scope = torch.NewDisposeScope();
            var step = scheduler.Step(Guided(x, t, y, guidanceScale), t, x, gen);
            x = step.PrevSample.MoveToOuterDisposeScope();
            report?.Invoke(i++, x);
        }
        return ToImages01(x).cpu();
    }

    public Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, DiffusionScheduler scheduler, Generator? gen,
                          int resample = 1, int? jump = null)
    {
        var ts = scheduler.Timesteps.ToArray();
        var plan = RePaintPlan.Positions(ts.Length, RePaintPlan.JumpOrDefault(jump, ts.Length), resample);
        using var _ = torch.no_grad();
        _net.eval();
        long n = images.shape[0];
        var original = ImageTransforms.ToFloat(images.to(Device), PixelScale.ZeroOne);      // (B, C, H, W) in [0,1]
        var mask = knownMask.to(Device).to(ScalarType.Float32).expand_as(original);         // 1 = known
        var y = _config.Conditional ? (labels?.to(Device) ?? torch.full(n, NullClass, dtype: ScalarType.Int64, device: Device)) : null;
        long TimestepAt(int p) => p < ts.Length ? ts[p] : -1;   // −1: clean data
        var x0 = original * 2 - 1;                                                           // pixel data in [−1, 1]
        // Pixels: the known region of x_t is the forward-noised original at the same t (RePaint, eq. 8).
        Tensor Paste(Tensor xt, int p) => _latent is not null ? xt
            : mask * (p < ts.Length ? scheduler.AddNoise(x0, Noise(x0.shape, gen), ts[p]) : x0) + (1 - mask) * xt;
        var x = Paste(Noise(DataShape(n), gen), 0);
        for (int k = 1; k < plan.Count; k++)
        {
            using var scope = torch.NewDisposeScope();
            int from = plan[k - 1], to = plan[k];
            if (to < from)
            {
                // Resampling: jump back up the chain with q(x_t | x_s), known and generated regions alike.
                x = _schedule.Renoise(x, Noise(x.shape, gen), TimestepAt(from), TimestepAt(to)).MoveToOuterDisposeScope();
                continue;
            }
            long t = ts[from];
            var output = Guided(x, t, y, 1.0);
            if (_latent is not null) output = PasteThroughDecoder(output, x, t, original, mask);
            x = Paste(scheduler.Step(output, t, x, gen).PrevSample, to).MoveToOuterDisposeScope();
        }
        // Final paste in [0,1]: the known pixels are the input's exactly, not a round trip through [−1, 1] or the VAE.
        return (mask * original + (1 - mask) * ToImages01(x)).cpu();
    }

    /// <summary>
    /// Latent inpainting. A latent vector has no pixels to paste, so the paste happens on the predicted clean image:
    /// x̂0 is decoded, its known pixels are replaced by the input's, the result is encoded again, and the network
    /// output is rewritten as the one that predicts this x̂0' from x_t (ε' = (x_t − √ᾱ_t·x̂0')/√(1−ᾱ_t), or
    /// v' = (√ᾱ_t·x_t − x̂0')/√(1−ᾱ_t)). Any scheduler then steps towards latents whose decodings agree with the
    /// known pixels.
    /// </summary>
    Tensor PasteThroughDecoder(Tensor output, Tensor xt, long t, Tensor original01, Tensor mask)
    {
        var tt = torch.full(xt.shape[0], t, dtype: ScalarType.Int64, device: Device);
        var predicted = _schedule.PredictX0(output, xt, tt, _config.Prediction);                     // (B, D)
        var pasted = mask * original01 + (1 - mask) * _latent!.Decode(predicted);                     // (B, C, H, W)
        var x0 = _latent.Encode(pasted);                                                              // (B, D)
        double alphaBar = _schedule.AlphaCumprodAt(t);
        double a = Math.Sqrt(alphaBar), b = Math.Sqrt(1 - alphaBar);
        return _config.Prediction == PredictionType.Epsilon ? (xt - a * x0) / b : (a * xt - x0) / b;
    }

    /// <summary>Classifier-free guidance: ε_u + w(ε_c − ε_u), one batched forward when both passes are needed.</summary>
    internal Tensor Guided(Tensor x, long t, Tensor? y, double w)
    {
        long n = x.shape[0];
        var tt = torch.full(n, t, dtype: ScalarType.Int64, device: Device);   // (n)
        if (y is null || w == 1.0) return Predict(x, tt, y);
        var nullLabels = torch.full(n, NullClass, dtype: ScalarType.Int64, device: Device);
        if (w == 0.0) return Predict(x, tt, nullLabels);
        var both = Predict(torch.cat(new[] { x, x }), torch.cat(new[] { tt, tt }), torch.cat(new[] { y, nullLabels })); // (2n, C, H, W)
        var parts = both.chunk(2, dim: 0);
        return parts[1] + w * (parts[0] - parts[1]);
    }

    Tensor? ResolveLabels(int n, Tensor? labels, Generator? gen)
    {
        if (!_config.Conditional) return null;
        if (labels is null)
            return (gen is null ? torch.randint(_config.NumClasses, new long[] { n }, dtype: ScalarType.Int64)
                                : torch.randint(_config.NumClasses, new long[] { n }, generator: gen, dtype: ScalarType.Int64)).to(Device);
        if (labels.shape[0] != n) throw new GenSharpException($"expected {n} labels, got {labels.shape[0]}");
        return labels.to(ScalarType.Int64).to(Device);
    }

    Tensor Noise(long[] shape, Generator? gen) =>
        gen is null ? torch.randn(shape, device: Device) : torch.randn(shape, generator: gen).to(Device);
}
