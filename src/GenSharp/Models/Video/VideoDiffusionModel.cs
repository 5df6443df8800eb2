using GenSharp.Data;
using GenSharp.Sampling;
using GenSharp.Training;

namespace GenSharp.Models.Video;

/// <summary>
/// Video diffusion (Ho et al. 2022, arXiv:2204.03458): DDPM's ε-objective (Ho et al. 2020, Algorithm 1) on whole clips
/// scaled to [−1, 1], every frame noised to the same step t, with a <see cref="SpaceTimeUNet"/> and classifier-free
/// guidance (Ho &amp; Salimans 2022). Masked-frame conditioning as in MCVD (Voleti et al. 2022): a training clip shows
/// the network none of its frames, its first k (prediction) or its first and last (interpolation) clean, in extra
/// input channels with a mask, and the loss covers only the frames it does not show. Sampling runs any
/// <see cref="DiffusionScheduler"/> over the whole clip; before every step the known frames' x_t is redrawn from
/// q(x_t | known) as in training (<see cref="NoiseKnownFrames"/>), and the known frames are copied into the result.
/// </summary>
public sealed class VideoDiffusionModel : FamilyModel<VideoDiffusionConfig, SpaceTimeUNet>, IVideoModel
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "videodiffusion";
    readonly NoiseSchedule _schedule;

    public VideoDiffusionModel(VideoDiffusionConfig config, Device device) : base(FamilyName, config, new SpaceTimeUNet(config), device)
    {
        _schedule = new NoiseSchedule(config.Schedule, config.Timesteps);
    }

    /// <summary>Adam with gradient-norm clipping at grad_clip.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("videodiffusion", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) with { GradClip = _config.GradClip } };
    public override int ConditionalClasses => _config.NumClasses;

    public int Frames => _config.Frames;
    public int FrameSize => _config.FrameSize;
    public int NumClasses => _config.NumClasses;
    /// <summary>The forward process.</summary>
    public NoiseSchedule Schedule => _schedule;
    /// <summary>Label of the "no class" embedding row.</summary>
    public int NullClass => _config.NumClasses;

    /// <summary>The network's output (ε or v, see <see cref="VideoDiffusionConfig.Prediction"/>) for noisy clips x_t (B, T, 1, S, S), steps t (B), labels (B), known clean frames (B, T, 1, S, S) in [−1, 1] and the mask (B, T) of known frames.</summary>
    public Tensor Predict(Tensor xt, Tensor t, Tensor labels, Tensor known, Tensor mask)
    {
        var m = mask.to(xt.dtype).reshape(mask.shape[0], mask.shape[1], 1, 1, 1).expand_as(xt);  // (B, T, 1, S, S)
        var input = torch.cat(new[] { xt, known * m, m }, 2);                                       // (B, T, 3, S, S)
        return _net.Forward(input, t, labels);
    }

    /// <summary>
    /// Known-frame masks (B, T) for training, from torch's global generator: with predict_probability the first k frames
    /// (k uniform in 1…T−1), with interpolate_probability the first and last (when T ≥ 3), otherwise none.
    /// </summary>
    public Tensor TrainingMask(long b)
    {
        long frames = _config.Frames;
        var u = torch.rand(b, device: Device).unsqueeze(1);                                          // (B, 1)
        var k = torch.randint(1, frames, new[] { b, 1 }, dtype: ScalarType.Int64, device: Device);  // (B, 1)
        var index = torch.arange(frames, device: Device).unsqueeze(0);                              // (1, T)
        var prefix = index < k;                                                                      // (B, T)
        var ends = (index == 0).logical_or(index == frames - 1).logical_and(torch.tensor(frames >= 3, device: Device)); // (1, T)
        var none = torch.zeros(b, frames, dtype: ScalarType.Bool, device: Device);
        double p = _config.PredictProbability, q = _config.InterpolateProbability;
        return torch.where(u < p, prefix, torch.where(u < p + q, ends.expand(b, frames), none));
    }

    /// <summary>Mean squared error of the prediction target (ε or v) over the unknown frames of clean clips x0 (B, T, 1, S, S) in [−1, 1] with known-frame masks (B, T).</summary>
    public Tensor Loss(Tensor x0, Tensor labels, Tensor mask)
    {
        long b = x0.shape[0];
        var t = torch.randint(_config.Timesteps, new[] { b }, dtype: ScalarType.Int64, device: Device);   // (B)
        var noise = torch.randn_like(x0);
        var xt = _schedule.AddNoise(x0, noise, t);
        // Classifier-free guidance training: drop the label to "no class" with probability label_dropout.
        var drop = torch.rand(b, device: Device) < _config.LabelDropout;
        var y = torch.where(drop, torch.full_like(labels, NullClass), labels);
        var target = _config.Prediction == PredictionType.Epsilon ? noise : _schedule.VelocityTarget(x0, noise, t);
        var err = (Predict(xt, t, y, x0, mask) - target).square().mean(new long[] { 2, 3, 4 });          // (B, T)
        var unknown = mask.logical_not().to(err.dtype);
        return (err * unknown).sum() / unknown.sum().clamp_min(1);
    }

    /// <summary>
    /// x_t (B, T, 1, S, S) with its known frames (mask (B, T)) replaced by draws of q(x_t | known) at steps t (B): the
    /// input the network saw for those frames in training (<see cref="Loss"/> noises whole clips). Sampling must not
    /// let the scheduler carry the known frames along: their ε was never trained (the loss skips them), so the
    /// scheduler's x_t there drifts away from anything seen in training and, through temporal attention, spoils the
    /// frames being generated.
    /// </summary>
    public Tensor NoiseKnownFrames(Tensor x, Tensor known, Tensor mask, Tensor t, Generator? gen = null)
    {
        using var scope = torch.NewDisposeScope();
        var noise = torch.randn(x.shape, generator: gen, device: x.device);
        var noisy = _schedule.AddNoise(known, noise, t);                                             // q(x_t | x_0 = known)
        var m = mask.reshape(mask.shape[0], mask.shape[1], 1, 1, 1).expand_as(x);
        return torch.where(m, noisy, x).MoveToOuterDisposeScope();
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor clips, Tensor labels, StepContext ctx)
    {
        _net.train();
        var x0 = clips.to(ScalarType.Float32) / 127.5 - 1;        // (B, T, 1, S, S) in [−1, 1]
        var loss = Loss(x0, labels, TrainingMask(x0.shape[0]));
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    /// <summary>The scheduler <paramref name="o"/> asks for, set to its step count.</summary>
    public DiffusionScheduler CreateScheduler(VideoGenerationOptions o)
    {
        var name = o.Scheduler ?? _config.Sampler;
        int steps = o.Steps ?? (name == "ddpm" && _config.Sampler != "ddpm" ? _config.Timesteps : _config.SamplerSteps);
        if (steps < 1 || steps > _config.Timesteps)
            throw new ParameterException("steps", $"must be in [1, {_config.Timesteps}] (the model's timesteps), got {steps}");
        if (!(o.Eta >= 0 && double.IsFinite(o.Eta))) throw new ParameterException("eta", $"must be a finite number ≥ 0, got {o.Eta}");
        var s = Schedulers.Create(name, _schedule, _config.Prediction, o.Eta);
        s.SetTimesteps(steps);
        return s;
    }

    public string DescribeSampler(VideoGenerationOptions o)
    {
        var s = CreateScheduler(o);
        return $"{s.Name} {s.Timesteps.Count} steps" + (o.Eta > 0 ? $", η {o.Eta}" : "") + $", guidance {o.GuidanceScale ?? _config.SamplerGuidance}";
    }

    public Tensor Generate(VideoGenerationOptions o)
    {
        if (o.Count < 1) throw new ParameterException("count", $"must be ≥ 1, got {o.Count}");
        double w = o.GuidanceScale ?? _config.SamplerGuidance;
        if (!(w >= 0 && double.IsFinite(w))) throw new ParameterException("guidance_scale", $"must be a finite number ≥ 0, got {w}");
        long n = o.Count, frames = _config.Frames, size = _config.FrameSize;
        var labels = o.Labels ?? Enumerable.Range(0, o.Count).Select(i => (long)(i % _config.NumClasses)).ToArray();
        if (labels.Length != n) throw new ParameterException("labels", $"must hold {n} classes, got {labels.Length}");
        if (labels.Any(l => l < 0 || l >= _config.NumClasses)) throw new ParameterException("class", $"must be in [0, {_config.NumClasses - 1}]");
        var flags = o.KnownFrames ?? new bool[frames];
        if (flags.Length != frames) throw new ParameterException("known_frames", $"must flag {frames} frames, got {flags.Length}");
        if (flags.All(f => f)) throw new ParameterException("frames", $"leave at least one of the {frames} frames to generate");
        if (flags.Any(f => f) && (o.Known is null || !o.Known.shape.SequenceEqual(new[] { n, frames, 1, size, size })))
            throw new ParameterException("known", $"must be ({n}, {frames}, 1, {size}, {size}) frames in [0, 1] when frames are known");
        var scheduler = CreateScheduler(o);

        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        _net.eval();
        using var gen = new Generator((ulong)o.Seed, Device);
        var y = torch.tensor(labels, dtype: ScalarType.Int64, device: Device);
        var mask = torch.tensor(flags, device: Device).unsqueeze(0).expand(n, frames).contiguous();              // (N, T)
        var known = o.Known is null ? torch.zeros(new[] { n, frames, 1, size, size }, device: Device)
                                    : o.Known.to(Device).to(ScalarType.Float32) * 2 - 1;                         // (N, T, 1, S, S)
        var x = torch.randn(new[] { n, frames, 1, size, size }, generator: gen, device: Device);                // x_T
        var nulls = torch.full_like(y, NullClass);
        int done = 0;
        foreach (long t in scheduler.Timesteps.ToArray())
        {
            using var step = torch.NewDisposeScope();
            var ts = torch.full(new[] { n }, t, dtype: ScalarType.Int64, device: Device);
            if (flags.Any(f => f) && !o.CarryKnownFrames) x = NoiseKnownFrames(x, known, mask, ts, gen);
            Tensor eps;   // the network's output: ε or v, both combine linearly under guidance
            if (w == 1) eps = Predict(x, ts, y, known, mask);
            else if (w == 0) eps = Predict(x, ts, nulls, known, mask);
            else
            {
                // One batched pass for the conditional and unconditional outputs (Ho & Salimans 2022, eq. 6).
                var both = Predict(torch.cat(new[] { x, x }), torch.cat(new[] { ts, ts }), torch.cat(new[] { y, nulls }),
                                   torch.cat(new[] { known, known }), torch.cat(new[] { mask, mask }));
                var cond = both.narrow(0, 0, n);
                var uncond = both.narrow(0, n, n);
                eps = uncond + w * (cond - uncond);
            }
            x = scheduler.Step(eps, t, x, gen).PrevSample.MoveToOuterDisposeScope();
            o.Progress?.Invoke(++done);
        }
        var m = mask.reshape(n, frames, 1, 1, 1).expand_as(x);
        x = torch.where(m, known, x);
        return ((x + 1) / 2).clamp(0, 1).cpu().MoveToOuterDisposeScope();
    }
}
