using System.Collections.ObjectModel;

namespace GenSharp.Sampling;

/// <summary>
/// A reverse-process sampler for a diffusion model, kept apart from the network: it owns the timesteps to
/// visit and turns a network output at x_t into x at the next visited timestep.
/// </summary>
/// <remarks>
/// Sampling is the same two lines for every scheduler, starting from x ~ N(0, I):
/// <code>
/// foreach (var t in s.Timesteps) x = s.Step(model(x, t), t, x, gen).PrevSample;
/// </code>
/// <see cref="Timesteps"/> are descending; the step after the last one lands on clean data (ᾱ = 1). Schedulers
/// hold no tensors, so they need no disposal, and several may share one <see cref="NoiseSchedule"/>.
/// Step math runs in the sample's dtype (float32 in practice) on the sample's device, with the schedule's
/// scalars read from its float64 arrays.
/// </remarks>
public abstract class DiffusionScheduler
{
    ReadOnlyCollection<long> _timesteps;
    Dictionary<long, int> _positions;

    /// <summary>Creates a scheduler that visits all T timesteps, T-1 down to 0.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1] in each step (data scaled to [-1, 1] is assumed).</param>
    protected DiffusionScheduler(NoiseSchedule schedule, PredictionType prediction, bool clipSample = true)
    {
        Schedule = schedule ?? throw new GenSharpException("schedule is null; pass the model's NoiseSchedule");
        if (!Enum.IsDefined(prediction))
            throw new GenSharpException($"unknown prediction type {prediction}; use Epsilon or V");
        Prediction = prediction;
        ClipSample = clipSample;
        var all = new long[schedule.Timesteps];
        for (int i = 0; i < all.Length; i++) all[i] = schedule.Timesteps - 1 - i;
        (_timesteps, _positions) = Index(all);
    }

    /// <summary>The forward process this scheduler inverts.</summary>
    public NoiseSchedule Schedule { get; }

    /// <summary>What the network predicts (ε or v).</summary>
    public PredictionType Prediction { get; }

    /// <summary>Whether x̂0 is clamped to [-1, 1].</summary>
    public bool ClipSample { get; }

    /// <summary>The timesteps to visit, strictly descending, each in 0..T-1; all T of them until <see cref="SetTimesteps(int)"/>.</summary>
    public IReadOnlyList<long> Timesteps => _timesteps;

    /// <summary>The scheduler's registry name, e.g. <c>ddpm</c>.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Chooses <paramref name="steps"/> timesteps to visit: "trailing" spacing, t_i = round(T·(n−i)/n) − 1, so the
    /// chain always starts at T−1 (see <see cref="TrailingTimesteps"/>). A scheduler that spaces differently overrides this.
    /// </summary>
    /// <param name="steps">Number of network evaluations; 1 to T.</param>
    /// <exception cref="GenSharpException"><paramref name="steps"/> is outside 1..T.</exception>
    public virtual void SetTimesteps(int steps)
    {
        CheckStepCount(steps);
        UseTimesteps(TrailingTimesteps(Schedule.Timesteps, steps));
    }

    /// <summary>Visits exactly <paramref name="descending"/> (strictly descending, each in 0..T-1), e.g. a custom spacing.</summary>
    /// <exception cref="GenSharpException">The list is empty, not strictly descending, or outside 0..T-1.</exception>
    public void SetTimesteps(IReadOnlyList<long> descending)
    {
        try { UseTimesteps(descending ?? throw new ArgumentException("the timestep list is null")); }
        catch (ArgumentException e) { throw new GenSharpException($"{Name} timesteps: {e.Message.Split(" (Parameter")[0]}"); }
    }

    /// <summary>One reverse step from timestep <paramref name="t"/> to <see cref="PreviousTimestep"/>(t).</summary>
    /// <param name="modelOutput">The network output at (<paramref name="sample"/>, t), shaped like it.</param>
    /// <param name="t">The current timestep; must be one of <see cref="Timesteps"/>.</param>
    /// <param name="sample">x_t, (B, ...).</param>
    /// <param name="generator">Source of the step's noise; torch's global generator when null. No noise is drawn on the last step.</param>
    /// <returns>The new sample and the predicted x0, both new tensors owned by the caller.</returns>
    public abstract SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null);

    /// <summary>Noises clean samples to timestep <paramref name="t"/> (see <see cref="NoiseSchedule.AddNoise"/>).</summary>
    /// <param name="x0">Clean samples (B, ...).</param>
    /// <param name="noise">ε ~ N(0, I), same shape.</param>
    /// <param name="t">One timestep for the whole batch, 0..T-1.</param>
    public Tensor AddNoise(Tensor x0, Tensor noise, long t)
    {
        using var scope = torch.NewDisposeScope();
        var device = x0?.device ?? torch.CPU;
        var ts = torch.tensor(new[] { t }, dtype: ScalarType.Int64, device: device);
        return Schedule.AddNoise(x0!, noise, ts).MoveToOuterDisposeScope();
    }

    /// <summary>The timestep visited after <paramref name="t"/>, or −1 when <paramref name="t"/> is the last one.</summary>
    /// <param name="t">One of <see cref="Timesteps"/>.</param>
    /// <exception cref="GenSharpException"><paramref name="t"/> is not one of <see cref="Timesteps"/>.</exception>
    public long PreviousTimestep(long t)
    {
        int i = PositionOf(t);
        return i + 1 < _timesteps.Count ? _timesteps[i + 1] : -1;
    }

    /// <summary>Replaces <see cref="Timesteps"/>; they must be strictly descending and within 0..T-1.</summary>
    protected void UseTimesteps(IReadOnlyList<long> descending)
    {
        if (descending.Count == 0) throw new ArgumentException("at least one timestep is needed", nameof(descending));
        for (int i = 0; i < descending.Count; i++)
        {
            if (descending[i] < 0 || descending[i] >= Schedule.Timesteps)
                throw new ArgumentException($"timestep {descending[i]} outside 0..{Schedule.Timesteps - 1}", nameof(descending));
            if (i > 0 && descending[i] >= descending[i - 1])
                throw new ArgumentException("timesteps must be strictly descending", nameof(descending));
        }
        (_timesteps, _positions) = Index(descending.ToArray());
    }

    /// <summary>Throws the one-line error for a step count outside 1..T.</summary>
    protected void CheckStepCount(int steps)
    {
        if (steps < 1 || steps > Schedule.Timesteps)
            throw new GenSharpException(
                $"{Name} sampling steps must be in [1, {Schedule.Timesteps}] (the schedule's T), got {steps}");
    }

    /// <summary>
    /// <paramref name="steps"/> timesteps spaced evenly from T-1 down, "trailing" spacing
    /// (Lin et al. 2024, "Common Diffusion Noise Schedules and Sampling Steps are Flawed", Table 2):
    /// t_i = round(T·(n − i)/n) − 1 for i = 0..n-1, so the first step is always T-1 (pure noise) and the
    /// gaps are T/n. For n = T this is every timestep; for T = 1000, n = 10 it is 999, 899, ..., 99.
    /// </summary>
    protected static long[] TrailingTimesteps(int timesteps, int steps)
    {
        var result = new long[steps];
        for (int i = 0; i < steps; i++)
        {
            // Integer round-half-up of T(n − i)/n, so no float error can merge or skip timesteps.
            long numerator = 2L * timesteps * (steps - i) + steps;
            result[i] = numerator / (2L * steps) - 1;
        }
        return result;
    }

    /// <summary>Checks the step inputs; returns the next visited timestep and ᾱ at t and at it (1 after the last).</summary>
    protected (long Prev, double AlphaBar, double AlphaBarPrev) BeginStep(Tensor? modelOutput, long t, Tensor? sample)
    {
        long prev = CheckStep(modelOutput, t, sample);
        return (prev, Schedule.AlphaCumprodAt(t), Schedule.AlphaCumprodAt(prev));
    }

    long CheckStep(Tensor? modelOutput, long t, Tensor? sample)
    {
        if (sample is null) throw new GenSharpException("sample is null; pass x_t as a tensor");
        if (modelOutput is null) throw new GenSharpException("modelOutput is null; pass the network's output at x_t");
        if (!modelOutput.shape.SequenceEqual(sample.shape))
            throw new GenSharpException(
                $"modelOutput has shape [{string.Join(", ", modelOutput.shape)}] but sample has [{string.Join(", ", sample.shape)}]; the network must output one value per sample element");
        if (!torch.is_floating_point(sample))
            throw new GenSharpException($"sample has dtype {sample.dtype}; pass floating point samples (e.g. float32)");
        return PreviousTimestep(t);
    }

    /// <summary>Standard normal noise shaped like <paramref name="sample"/>, drawn from <paramref name="generator"/> (on its device) or the global generator.</summary>
    protected static Tensor Noise(Tensor sample, Generator? generator)
    {
        if (generator is null)
            return torch.randn(sample.shape, dtype: sample.dtype, device: sample.device);
        // A generator lives on one device; draw there and move, so a CPU generator also works for CUDA samples.
        return torch.randn(sample.shape, dtype: sample.dtype, device: generator.device, generator: generator).to(sample.device);
    }

    /// <summary>
    /// The network output at timestep <paramref name="t"/> turned into x0 and ε, with scalar coefficients from the
    /// float64 schedule (no host round trip). With <see cref="ClipSample"/>, x0 is clamped to [-1, 1] and ε is
    /// re-derived from the clamped x0, so that the pair stays consistent with x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε.
    /// The tensors belong to the current dispose scope.
    /// </summary>
    protected (Tensor X0, Tensor Epsilon) Predict(Tensor modelOutput, long t, Tensor sample)
    {
        double alphaBar = Schedule.AlphaCumprodAt(t);
        double a = Math.Sqrt(alphaBar), b = Math.Sqrt(1.0 - alphaBar);
        Tensor x0, eps;
        if (Prediction == PredictionType.Epsilon)
        {
            eps = modelOutput;
            x0 = (sample - b * modelOutput) / a;          // Ho et al. 2020, eq. 4 solved for x0
        }
        else
        {
            x0 = a * sample - b * modelOutput;             // Salimans & Ho 2022, §4
            eps = a * modelOutput + b * sample;
        }
        if (ClipSample)
        {
            x0 = x0.clamp(-1.0, 1.0);
            eps = (sample - a * x0) / b;
        }
        return (x0, eps);
    }

    int PositionOf(long t)
    {
        if (_positions.TryGetValue(t, out int i)) return i;
        throw new GenSharpException(
            $"timestep {t} is not one this {Name} scheduler visits; step through scheduler.Timesteps (set by SetTimesteps)");
    }

    static (ReadOnlyCollection<long>, Dictionary<long, int>) Index(long[] descending)
    {
        var positions = new Dictionary<long, int>(descending.Length);
        for (int i = 0; i < descending.Length; i++) positions[descending[i]] = i;
        return (Array.AsReadOnly(descending), positions);
    }
}
