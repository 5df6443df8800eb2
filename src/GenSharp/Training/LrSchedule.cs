namespace GenSharp.Training;

/// <summary>
/// A learning-rate schedule: the rate of 0-based optimiser step <c>step</c> as a function of the base rate.
/// The trainer sets it on every parameter group before each step of an optimizer whose schedule is not
/// <see cref="Constant"/>, and reports it as the metric <c>lr</c>.
/// </summary>
public sealed class LrSchedule
{
    enum Kind { Constant, LinearWarmup, WarmupCosine, CosineToFraction }

    readonly Kind _kind;
    readonly long _warmup;
    readonly long _decaySteps;
    readonly double _floor;   // WarmupCosine: the final rate; CosineToFraction: the final fraction of the base rate

    LrSchedule(Kind kind, long warmup = 0, long decaySteps = 0, double floor = 0)
    {
        if (warmup < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "warm-up steps must be ≥ 0");
        if (decaySteps < 0) throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps, "decay steps must be ≥ 0");
        _kind = kind;
        _warmup = warmup;
        _decaySteps = decaySteps;
        _floor = floor;
    }

    /// <summary>The base rate at every step.</summary>
    public static LrSchedule Constant { get; } = new(Kind.Constant);

    /// <summary>True for <see cref="Constant"/>: the trainer then leaves the optimizer's rate alone and does not report it.</summary>
    public bool IsConstant => _kind == Kind.Constant;

    /// <summary>
    /// Linear warm-up over <paramref name="warmupSteps"/> steps: lr·min(1, (step + 1)/warmup), then the base rate
    /// (Glow). 0 steps is <see cref="Constant"/>.
    /// </summary>
    public static LrSchedule LinearWarmup(long warmupSteps) => warmupSteps > 0 ? new(Kind.LinearWarmup, warmupSteps) : Constant;

    /// <summary>
    /// GPT's schedule: linear warm-up lr·(step + 1)/(warmup + 1) for step &lt; warmup, then cosine decay
    /// (Loshchilov &amp; Hutter 2017) from lr to <paramref name="minLearningRate"/> at <paramref name="decaySteps"/>, and
    /// <paramref name="minLearningRate"/> after. With decaySteps ≤ warmup the rate jumps to the floor after the warm-up
    /// (or stays at lr when decaySteps is 0).
    /// </summary>
    public static LrSchedule WarmupCosine(long warmupSteps, long decaySteps, double minLearningRate) =>
        new(Kind.WarmupCosine, warmupSteps, decaySteps, minLearningRate);

    /// <summary>
    /// The classifier's schedule: cosine from lr to <paramref name="finalFraction"/>·lr over <paramref name="decaySteps"/>
    /// steps, lr·(f + (1 − f)·½(1 + cos(π·min(1, step/decay)))), and the floor after. 0 steps is <see cref="Constant"/>.
    /// </summary>
    public static LrSchedule CosineToFraction(long decaySteps, double finalFraction) =>
        decaySteps > 0 ? new(Kind.CosineToFraction, 0, decaySteps, finalFraction) : Constant;

    /// <summary>The rate of 0-based step <paramref name="step"/> for base rate <paramref name="lr"/>.</summary>
    public double At(double lr, long step)
    {
        switch (_kind)
        {
            case Kind.LinearWarmup:
                return lr * Math.Min(1.0, (step + 1.0) / _warmup);
            case Kind.WarmupCosine:
            {
                if (step < _warmup) return lr * (step + 1) / (_warmup + 1);
                long end = _decaySteps;
                if (end <= _warmup || step >= end) return end <= 0 ? lr : _floor;
                double ratio = (double)(step - _warmup) / (end - _warmup);
                return _floor + 0.5 * (1 + Math.Cos(Math.PI * ratio)) * (lr - _floor);
            }
            case Kind.CosineToFraction:
            {
                double t = Math.Min(1.0, (double)step / _decaySteps);
                return lr * (_floor + (1 - _floor) * 0.5 * (1 + Math.Cos(Math.PI * t)));
            }
            default:
                return lr;
        }
    }

    public override string ToString() => _kind switch
    {
        Kind.LinearWarmup => $"linear warm-up over {_warmup} steps",
        Kind.WarmupCosine => $"warm-up {_warmup} steps, cosine to {_floor} at step {_decaySteps}",
        Kind.CosineToFraction => $"cosine to {_floor}×lr over {_decaySteps} steps",
        _ => "constant",
    };
}
