using GenSharp.Sampling;

namespace GenSharp.Models.Diffusion;

public sealed partial class DdpmModel : IImageInpainter, ITreeRingSampler
{
    public SamplerOptions DefaultSamplerOptions => new DiffusionSamplerOptions
    {
        Scheduler = _config.Sampler, GuidanceScale = _config.SamplerGuidance,
    };

    /// <summary>The scheduler <paramref name="options"/> describe, set to its step count.</summary>
    public DiffusionScheduler CreateScheduler(DiffusionSamplerOptions options) =>
        CreateScheduler(options.Scheduler, StepsOf(options), options.Eta);

    /// <summary>The step count <paramref name="options"/> ask for (null: sampler_steps for the config's sampler, all T for ancestral ddpm otherwise).</summary>
    public int StepsOf(DiffusionSamplerOptions options) =>
        options.Steps ?? (options.Scheduler == _config.Sampler || options.Scheduler != "ddpm" ? _config.SamplerSteps : _config.Timesteps);

    /// <summary>Unlabelled draws of a conditional model cycle through the classes (0, 1, …, K−1, 0, …).</summary>
    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep = null)
    {
        var o = Options(options);
        if (labels is null && _config.Conditional)
        {
            using var cycle = torch.arange(n, dtype: ScalarType.Int64) % _config.NumClasses;
            return Sample(n, cycle, CreateScheduler(o), o.GuidanceScale, generator, onStep);
        }
        return Sample(n, labels, CreateScheduler(o), o.GuidanceScale, generator, onStep);
    }

    public long[] NoiseShape => DataShape(1)[1..];

    public bool CarriesTreeRing(SamplerOptions options) => Options(options) is { Scheduler: "ddim", Eta: 0 };

    public int InversionSteps(SamplerOptions options) => StepsOf(Options(options));

    public Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep, Func<Tensor, Tensor> markNoise)
    {
        var o = Options(options);
        if (labels is null && _config.Conditional)
        {
            using var cycle = torch.arange(n, dtype: ScalarType.Int64) % _config.NumClasses;
            return Sample(n, cycle, CreateScheduler(o), o.GuidanceScale, generator, onStep, markNoise);
        }
        return Sample(n, labels, CreateScheduler(o), o.GuidanceScale, generator, onStep, markNoise);
    }

    public Tensor InvertToNoise(Tensor images01, int steps)
    {
        using var _ = torch.no_grad();
        using var outer = torch.NewDisposeScope();
        _net.eval();
        var pixels = images01.to(Device).to(ScalarType.Float32);
        var x0 = _latent is null ? pixels * 2 - 1 : _latent.Encode(pixels);                         // x_0 in the diffused space
        long n = x0.shape[0];
        Tensor? y = _config.Conditional ? torch.full(n, NullClass, dtype: ScalarType.Int64, device: Device) : null;
        var xT = DdimInversion.Invert(x0, steps, _schedule, _config.Prediction,
            (x, t) => Predict(x, torch.full(n, t, dtype: ScalarType.Int64, device: Device), y));
        return xT.cpu().MoveToOuterDisposeScope();
    }

    public int? TraceSteps(SamplerOptions options) => CreateScheduler(Options(options)).Timesteps.Count;

    public IReadOnlyDictionary<string, object?> RecordSampler(SamplerOptions options)
    {
        var o = Options(options);
        var r = new Dictionary<string, object?>
        {
            ["scheduler"] = o.Scheduler, ["sampler_steps"] = CreateScheduler(o).Timesteps.Count, ["eta"] = o.Eta,
        };
        if (_config.Conditional) r["guidance_scale"] = o.GuidanceScale;
        r["resample"] = o.Resample;
        if (o.Resample > 1) r["jump"] = RePaintPlan.JumpOrDefault(o.Jump, StepsOf(o));
        return r;
    }

    public string DescribeSampler(SamplerOptions options)
    {
        var o = Options(options);
        int steps = StepsOf(o);
        return $"{o.Scheduler} {steps} steps" + (o.Eta > 0 ? $", η {o.Eta}" : "") + (_config.Conditional ? $", guidance {o.GuidanceScale}" : "") +
               (o.Resample > 1 ? $", RePaint resampling ×{o.Resample} every {RePaintPlan.JumpOrDefault(o.Jump, steps)} steps" : "");
    }

    public Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, SamplerOptions options, Generator generator)
    {
        var o = Options(options);
        return Inpaint(images, knownMask, labels, CreateScheduler(o), generator, o.Resample, o.Jump);
    }

    static DiffusionSamplerOptions Options(SamplerOptions options) => options as DiffusionSamplerOptions
        ?? throw new ArgumentException($"ddpm samples with {nameof(DiffusionSamplerOptions)}, got {options.GetType().Name}", nameof(options));
}
