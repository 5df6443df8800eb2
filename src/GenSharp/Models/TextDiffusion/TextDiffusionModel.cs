using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models.Clip;
using GenSharp.Models.Vae;
using GenSharp.Sampling;
using GenSharp.TextToImage;
using GenSharp.Training;

namespace GenSharp.Models.TextDiffusion;

/// <summary>
/// Prompted latent diffusion (<c>txt2img</c>), see <see cref="TextDiffusionConfig"/>. Training (Ho et al. 2020,
/// Algorithm 1, on latents): caption the batch, replace a caption by "" with probability prompt_dropout, encode the
/// captions with the frozen CLIP text tower, z_t = √ᾱ_t z₀ + √(1−ᾱ_t) ε, loss = ‖ε − ε_θ(z_t, t, text)‖².
/// Sampling runs any <see cref="DiffusionScheduler"/> with classifier-free guidance against the negative prompt
/// (the empty prompt when none is given), image-to-image by SDEdit (Meng et al. 2022, arXiv:2108.01073), prompt-guided
/// inpainting (<see cref="Inpaint"/>) and prompt interpolation (<see cref="InterpolatePrompts"/>).
/// </summary>
public sealed class TextDiffusionModel : FamilyModel<TextDiffusionConfig, TextDiffusionNetwork>, IImageInpainter, IImageToImage, IPromptInterpolation
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "txt2img";

    readonly NoiseSchedule _schedule;
    readonly FashionCaptioner _captioner;

    public TextDiffusionModel(TextDiffusionConfig config, Device device) : this(Built(config), device) { }

    TextDiffusionModel((TextDiffusionConfig Config, TextDiffusionNetwork Net) built, Device device) : base(FamilyName, built.Config, built.Net, device)
    {
        _schedule = new NoiseSchedule(built.Config.Schedule, built.Config.Timesteps);
        _captioner = new FashionCaptioner(mentionProbability: built.Config.MentionProbability);
    }

    static (TextDiffusionConfig, TextDiffusionNetwork) Built(TextDiffusionConfig config)
    {
        Dictionary<string, Tensor>? vaeWeights = null, clipWeights = null;
        var vaeConfig = config.LatentVae ?? Read<VaeConfig>(config.LatentFrom!, "latent_from", "vae", out vaeWeights);
        var clipConfig = config.TextClip ?? Read<ClipConfig>(config.TextFrom!, "text_from", "clip", out clipWeights);
        var full = config with { LatentVae = vaeConfig, TextClip = clipConfig };
        full.Validate();
        if (clipConfig.ContextLength < 3) throw new GenSharpException("text_from: the clip's context is too short");
        var net = new TextDiffusionNetwork(full, vaeConfig, clipConfig);
        if (vaeWeights is not null) { ModuleState.Load(net.Vae, vaeWeights, config.LatentFrom!); foreach (var t in vaeWeights.Values) t.Dispose(); }
        if (clipWeights is not null) { ModuleState.Load(net.Clip, clipWeights, config.TextFrom!); foreach (var t in clipWeights.Values) t.Dispose(); }
        return (full, net);
    }

    static T Read<T>(string path, string field, string family, out Dictionary<string, Tensor> weights) where T : FamilyConfig
    {
        if (!Checkpoint.Exists(path))
            throw new GenSharpException($"{field}={path}: no checkpoint there; train a {family} first and pass its checkpoint folder");
        var ckpt = Checkpoint.Open(path);
        if (ckpt.Config is not T config)
            throw new GenSharpException($"{field}={path}: holds a {ckpt.Family.Name} checkpoint; txt2img needs a {family} checkpoint there");
        weights = ckpt.ReadWeights(preferEma: true);
        return config;
    }

    /// <summary>The training noise schedule.</summary>
    public NoiseSchedule Schedule => _schedule;
    /// <summary>Adam over the denoiser (VAE and CLIP stay frozen), clipped at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs => new[]
    {
        OptimizerSpec.Single("txt2img", OptimizerAlgorithm.Adam, _net.Denoiser.parameters(), _config.LearningRate) with { GradClip = _config.GradClip },
    };
    /// <summary>Labels name classes: a label k asks for "a photo of a NOUN_k".</summary>
    public override int ConditionalClasses => _config.NumClasses;

    /// <summary>The captions of a training batch at step <paramref name="step"/>, "" where the prompt is dropped.</summary>
    public string[] TrainingCaptions(Tensor images, Tensor labels, long step)
    {
        var measured = ImageAttributes.Measure(images.cpu());
        var y = labels.cpu().to(ScalarType.Int64).data<long>().ToArray();
        var rng = FashionCaptioner.RngFor(_config.CaptionSeed, step);
        return Enumerable.Range(0, y.Length).Select(i =>
        {
            var caption = _captioner.Caption((int)y[i], measured, i, rng);
            return rng.NextDouble() < _config.PromptDropout ? "" : caption;
        }).ToArray();
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor images, Tensor labels, StepContext ctx)
    {
        _net.train();
        var z0 = _net.Encode(ImageTransforms.ToFloat(images, PixelScale.ZeroOne));                  // (B, D)
        var (states, mask) = _net.Text(TrainingCaptions(images, labels, ctx.Step), Device);          // (B, L, Wt), (B, L)
        long b = z0.shape[0];
        var t = torch.randint(_config.Timesteps, new[] { b }, dtype: ScalarType.Int64, device: Device);
        var noise = torch.randn_like(z0);
        var zt = _schedule.AddNoise(z0, noise, t);
        var target = _config.Prediction == PredictionType.Epsilon ? noise : _schedule.VelocityTarget(z0, noise, t);
        var loss = nn.functional.mse_loss(_net.Denoiser.Forward(zt, t, states, mask), target);
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    public SamplerOptions DefaultSamplerOptions => new TextDiffusionSamplerOptions
    {
        Scheduler = _config.Sampler, GuidanceScale = _config.SamplerGuidance,
    };

    /// <summary>The scheduler <paramref name="options"/> ask for, set to their step count (latents are not clipped).</summary>
    public DiffusionScheduler CreateScheduler(TextDiffusionSamplerOptions options)
    {
        int steps = options.Steps ?? _config.SamplerSteps;
        if (steps < 1 || steps > _config.Timesteps)
            throw new ParameterException("steps", $"must be in [1, {_config.Timesteps}] (the model's timesteps), got {steps}");
        var scheduler = Schedulers.Create(options.Scheduler, _schedule, _config.Prediction, options.Eta, clipSample: false);
        scheduler.SetTimesteps(steps);
        return scheduler;
    }

    /// <summary>The prompt of class <paramref name="label"/> when no prompt is given.</summary>
    public static string ClassPrompt(int label) => $"a photo of {FashionCaptioner.Phrase(FashionCaptioner.Nouns[label], Array.Empty<string>(), 0)}";

    /// <summary>With a prompt every image draws it; otherwise label k draws <see cref="ClassPrompt"/>(k) (no labels: classes in turn).</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null)
    {
        var o = Options(options);
        var prompts = PromptsFor(n, labels, o);
        var negatives = Enumerable.Repeat(o.NegativePrompt ?? "", n).ToArray();
        var scheduler = CreateScheduler(o);
        try { return Generate(prompts, negatives, scheduler, o.GuidanceScale, generator, onStep); }
        finally { (scheduler as IDisposable)?.Dispose(); }
    }

    /// <summary>
    /// Image-to-image (SDEdit): each init image (B, C, H, W) in [0,1] is encoded, noised to the timestep
    /// <c>strength</c> of the way up the chain, and denoised under the prompt. Strength 0 runs no step and returns the
    /// init images as given; strength 1 starts from pure noise and ignores them (the same draw as text-to-image).
    /// </summary>
    public Tensor ImageToImage(Tensor init01, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null)
    {
        var o = Options(options);
        int n = (int)init01.shape[0];
        var cfg = (ImageFamilyConfig)_config;
        if (init01.dim() != 4 || init01.shape[1] != cfg.ImageChannels || init01.shape[2] != cfg.ImageSize || init01.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"init images must be {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize}, got ({string.Join("×", init01.shape)})");
        var prompts = PromptsFor(n, null, o with { Prompt = o.Prompt ?? "" });
        var negatives = Enumerable.Repeat(o.NegativePrompt ?? "", n).ToArray();
        var scheduler = CreateScheduler(o);
        try { return Generate(prompts, negatives, scheduler, o.GuidanceScale, generator, onStep, init01, o.Strength); }
        finally { (scheduler as IDisposable)?.Dispose(); }
    }

    string[] PromptsFor(int n, Tensor? labels, TextDiffusionSamplerOptions o)
    {
        if (o.Prompt is { } p) return Enumerable.Repeat(p, n).ToArray();
        long[] y = labels is null ? Enumerable.Range(0, n).Select(i => (long)(i % _config.NumClasses)).ToArray()
            : labels.cpu().to(ScalarType.Int64).data<long>().ToArray();
        if (y.Length != n) throw new GenSharpException($"expected {n} labels, got {y.Length}");
        return y.Select(k => k >= 0 && k < _config.NumClasses ? ClassPrompt((int)k) : throw new GenSharpException($"label {k} outside 0..{_config.NumClasses - 1}")).ToArray();
    }

    /// <summary>
    /// The reverse process for one prompt per image, guided against one negative prompt per image:
    /// ε̂ = ε(neg) + w·(ε(prompt) − ε(neg)), both passes in one batched forward. Images in [0,1], (n, C, H, W) on the CPU.
    /// </summary>
    public Tensor Generate(IReadOnlyList<string> prompts, IReadOnlyList<string> negatives, DiffusionScheduler scheduler, double w,
                           Generator? gen, Action<int, Tensor>? onStep = null, Tensor? init01 = null, double strength = 1)
    {
        int n = prompts.Count;
        if (negatives.Count != n) throw new GenSharpException($"{n} prompts but {negatives.Count} negative prompts");
        using var _ = torch.no_grad();
        _net.eval();
        var (cs, cm) = _net.Text(prompts, Device);
        var (us, um) = _net.Text(negatives, Device);
        return Run(cs, cm, us, um, scheduler, w, Noise(n, gen), gen, onStep, init01, strength);
    }

    /// <summary>
    /// <see cref="Generate"/> from given starting latents <paramref name="xT"/> (n, <see cref="LatentDim"/>) instead of a
    /// fresh draw, so several prompts can start from the same noise; <paramref name="gen"/> drives stochastic schedulers.
    /// </summary>
    public Tensor GenerateFrom(IReadOnlyList<string> prompts, IReadOnlyList<string> negatives, DiffusionScheduler scheduler, double w,
                               Tensor xT, Generator? gen)
    {
        int n = prompts.Count;
        if (negatives.Count != n) throw new GenSharpException($"{n} prompts but {negatives.Count} negative prompts");
        if (xT.dim() != 2 || xT.shape[0] != n || xT.shape[1] != LatentDim)
            throw new GenSharpException($"starting latents must be ({n}, {LatentDim}), got ({string.Join(", ", xT.shape)})");
        using var _ = torch.no_grad();
        _net.eval();
        var (cs, cm) = _net.Text(prompts, Device);
        var (us, um) = _net.Text(negatives, Device);
        return Run(cs, cm, us, um, scheduler, w, xT.to(ScalarType.Float32).to(Device), gen, null);
    }

    /// <summary>Test images (B, C, H, W) in [0, 1] through the embedded VAE and back (posterior mean, no diffusion), on the CPU.</summary>
    public Tensor Reconstruct(Tensor images01)
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        return _net.Decode(_net.Encode(images01.to(ScalarType.Float32).to(Device))).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Width of the VAE latent the model diffuses.</summary>
    public int LatentDim => _net.Vae.LatentDim;

    /// <summary>x_T: (n, D) standard normal latents, from <paramref name="gen"/> when given.</summary>
    Tensor Noise(int n, Generator? gen)
    {
        int d = _net.Vae.LatentDim;
        return gen is null ? torch.randn(new long[] { n, d }, device: Device) : torch.randn(new long[] { n, d }, generator: gen).to(Device);
    }

    /// <summary>
    /// The reverse process from <paramref name="x"/> under text states (cs, cm) guided against (us, um). With
    /// <paramref name="rectify"/>, each step's predicted clean latent ẑ₀ is replaced by rectify(ẑ₀) and the network output
    /// by the one that implies it at x_t, so any scheduler continues from the rectified estimate.
    /// </summary>
    Tensor Run(Tensor cs, Tensor cm, Tensor us, Tensor um, DiffusionScheduler scheduler, double w, Tensor x, Generator? gen,
               Action<int, Tensor>? onStep, Tensor? init01 = null, double strength = 1, Func<Tensor, Tensor>? rectify = null)
    {
        var ts = scheduler.Timesteps.ToArray();
        if (init01 is not null)
        {
            if (strength == 0) return init01.to(ScalarType.Float32).cpu().clone();
            int k = Math.Max(1, (int)Math.Round(ts.Length * strength));
            if (k < ts.Length)
            {
                ts = ts[^k..];
                scheduler.SetTimesteps(ts);
                x = scheduler.AddNoise(_net.Encode(init01.to(ScalarType.Float32).to(Device)), x, ts[0]);
            }
        }
        onStep?.Invoke(0, _net.Decode(x) * 2 - 1);
        int i = 1;
        foreach (long t in ts)
        {
            using var scope = torch.NewDisposeScope();
            var output = Guided(x, t, cs, cm, us, um, w);
            if (rectify is not null) output = Rectified(output, x, t, rectify);
            var step = scheduler.Step(output, t, x, gen);
            x = step.PrevSample.MoveToOuterDisposeScope();
            onStep?.Invoke(i++, _net.Decode(x) * 2 - 1);
        }
        return _net.Decode(x).cpu();
    }

    /// <summary>
    /// The network output that implies the clean latent rectify(ẑ₀) at x_t: x_t = √ᾱ_t z₀ + √(1−ᾱ_t) ε solved for ε
    /// (Ho et al. 2020, eq. 4), and v = √ᾱ_t ε − √(1−ᾱ_t) z₀ for v-prediction (Salimans &amp; Ho 2022, §4).
    /// </summary>
    Tensor Rectified(Tensor output, Tensor x, long t, Func<Tensor, Tensor> rectify)
    {
        using var tt = torch.tensor(t);
        var z0 = rectify(_schedule.PredictX0(output, x, tt, _config.Prediction));
        double ab = _schedule.AlphasCumprod[t], a = Math.Sqrt(ab), b = Math.Sqrt(1 - ab);
        var eps = (x - a * z0) / b;
        return _config.Prediction == PredictionType.Epsilon ? eps : a * eps - b * z0;
    }

    /// <summary>
    /// Prompt-guided inpainting of raw uint8 <paramref name="images"/> (B, C, H, W): the pixels where
    /// <paramref name="knownMask"/> is true are kept, the rest drawn under the options' prompt. The latent is one vector per
    /// image, so the known region cannot be pinned in latent space (as RePaint does in pixels); instead every step
    /// rectifies the predicted clean image in pixel space, as DDNM does for linear degradations (Wang et al. 2023,
    /// arXiv:2212.00490, eq. 9 with A = the known-pixel mask): decode ẑ₀, put the known pixels back, encode, and step on from
    /// there. The decoded result is finally composited with the known pixels, which come back exactly (x/255).
    /// Without a prompt each image's label picks its class prompt (no labels: the empty prompt).
    /// </summary>
    public Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, SamplerOptions options, Generator generator)
    {
        var o = Options(options);
        var cfg = (ImageFamilyConfig)_config;
        if (images.dim() != 4 || images.shape[1] != cfg.ImageChannels || images.shape[2] != cfg.ImageSize || images.shape[3] != cfg.ImageSize)
            throw new GenSharpException($"images must be {cfg.ImageChannels}×{cfg.ImageSize}×{cfg.ImageSize}, got ({string.Join("×", images.shape)})");
        int n = (int)images.shape[0];
        var prompts = o.Prompt is not null || labels is not null ? PromptsFor(n, labels, o) : Enumerable.Repeat("", n).ToArray();
        var negatives = Enumerable.Repeat(o.NegativePrompt ?? "", n).ToArray();
        var scheduler = CreateScheduler(o);
        try
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            _net.eval();
            var known = (images.dtype == ScalarType.Byte ? images.to(ScalarType.Float32) / 255 : images.to(ScalarType.Float32)).to(Device);
            var mask = knownMask.to(ScalarType.Bool).to(Device).expand(n, 1, cfg.ImageSize, cfg.ImageSize);
            var (cs, cm) = _net.Text(prompts, Device);
            var (us, um) = _net.Text(negatives, Device);
            Tensor Rectify(Tensor z0) => _net.Encode(torch.where(mask, known, _net.Decode(z0)));
            var drawn = Run(cs, cm, us, um, scheduler, o.GuidanceScale, Noise(n, generator), generator, null, rectify: Rectify);
            return torch.where(mask.cpu(), known.cpu(), drawn).MoveToOuterDisposeScope();
        }
        finally { (scheduler as IDisposable)?.Dispose(); }
    }

    /// <summary>
    /// A prompt interpolation strip: <paramref name="count"/> images from the same x_T (one draw of
    /// <paramref name="generator"/>, as a single-image sample with that seed draws it), conditioned on the text states
    /// (1 − s)·text(<paramref name="from"/>) + s·text(<paramref name="to"/>) for s = 0, 1/(count−1), …, 1. Cross-attention
    /// sees the tokens of <paramref name="from"/> at s = 0, those of <paramref name="to"/> at s = 1 and the union between, so
    /// with a deterministic scheduler the strip's ends are the two prompts' own samples for that seed. (count, C, H, W) in [0,1] on the CPU.
    /// </summary>
    public Tensor InterpolatePrompts(string from, string to, int count, SamplerOptions options, Generator? generator)
    {
        if (count < 2 || count > 64) throw new ParameterException("n", $"an interpolation strip has 2 … 64 images, got {count}");
        var o = Options(options);
        var scheduler = CreateScheduler(o);
        try
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            _net.eval();
            var (a, am) = _net.Text(new[] { from }, Device);                                              // (1, L, Wt), (1, L)
            var (b, bm) = _net.Text(new[] { to }, Device);
            var s = torch.linspace(0, 1, count, device: Device).view(count, 1, 1);                          // (count, 1, 1)
            var cs = a * (1 - s) + b * s;                                                                    // (count, L, Wt)
            var cm = (am | bm).expand(count, -1).clone();
            cm[0] = am[0];
            cm[count - 1] = bm[0];
            var (us, um) = _net.Text(Enumerable.Repeat(o.NegativePrompt ?? "", count).ToArray(), Device);
            var x = Noise(1, generator).expand(count, -1).contiguous();                                     // one x_T for the whole strip
            return Run(cs, cm, us, um, scheduler, o.GuidanceScale, x, generator, null).MoveToOuterDisposeScope();
        }
        finally { (scheduler as IDisposable)?.Dispose(); }
    }

    Tensor Guided(Tensor x, long t, Tensor cs, Tensor cm, Tensor us, Tensor um, double w)
    {
        long n = x.shape[0];
        var tt = torch.full(n, t, dtype: ScalarType.Int64, device: Device);
        if (w == 1.0) return _net.Denoiser.Forward(x, tt, cs, cm);
        if (w == 0.0) return _net.Denoiser.Forward(x, tt, us, um);
        var both = _net.Denoiser.Forward(torch.cat(new[] { x, x }), torch.cat(new[] { tt, tt }), torch.cat(new[] { cs, us }), torch.cat(new[] { cm, um }));
        var parts = both.chunk(2, dim: 0);
        return parts[1] + w * (parts[0] - parts[1]);
    }

    public int? TraceSteps(SamplerOptions options) => Options(options).Steps ?? _config.SamplerSteps;

    public IReadOnlyDictionary<string, object?> RecordSampler(SamplerOptions options)
    {
        var o = Options(options);
        return new Dictionary<string, object?>
        {
            ["prompt"] = o.Prompt, ["negative_prompt"] = o.NegativePrompt, ["scheduler"] = o.Scheduler,
            ["sampler_steps"] = o.Steps ?? _config.SamplerSteps, ["eta"] = o.Eta, ["guidance_scale"] = o.GuidanceScale,
        };
    }

    static TextDiffusionSamplerOptions Options(SamplerOptions options) => options as TextDiffusionSamplerOptions
        ?? throw new ArgumentException($"txt2img samples with {nameof(TextDiffusionSamplerOptions)}, got {options.GetType().Name}", nameof(options));
}
