namespace GenSharp.Sampling;

/// <summary>
/// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
/// Models", arXiv:2211.01095, Algorithm 2): a deterministic second-order multistep solver of the probability-flow
/// ODE in data (x̂0) prediction, one network evaluation per step.
/// </summary>
/// <remarks>
/// <para>With α_t = √ᾱ_t, σ_t = √(1 − ᾱ_t), λ_t = log(α_t/σ_t) and h = λ_{t'} − λ_t, a step from t to the next
/// visited t' is x_{t'} = (σ_{t'}/σ_t)·x_t − α_{t'}(e^{−h} − 1)·D, where D = x̂0(t) on the first step (DPM-Solver++ 1,
/// i.e. DDIM) and otherwise D = (1 + 1/(2r))·x̂0(t) − 1/(2r)·x̂0(t_prev), r = h_prev/h, from the x̂0 kept from the
/// step before. The last step lands on σ = 0 (λ = ∞) and uses D = x̂0(t), as diffusers does with a zero final σ.</para>
/// <para>The scheduler keeps the previous step's x̂0 (one tensor, outside any dispose scope). The history is
/// dropped when a step is not the successor of the previous one (a new chain, or RePaint jumping back), so such a
/// step is first order; it is released after the last step.</para>
/// </remarks>
public sealed class DpmSolverMultistepScheduler : DiffusionScheduler, IDisposable
{
    Tensor? _previousX0;
    long _expectedT = long.MinValue;   // the timestep whose step may use the history
    double _previousH;

    /// <summary>Creates the scheduler, visiting all T timesteps until <see cref="DiffusionScheduler.SetTimesteps(int)"/>.</summary>
    /// <param name="schedule">The noise schedule the network was trained with.</param>
    /// <param name="prediction">What the network predicts.</param>
    /// <param name="clipSample">Clamp x̂0 to [-1, 1].</param>
    public DpmSolverMultistepScheduler(NoiseSchedule schedule, PredictionType prediction = PredictionType.Epsilon, bool clipSample = true)
        : base(schedule, prediction, clipSample) { }

    /// <inheritdoc/>
    public override string Name => "dpm++2m";

    /// <inheritdoc/>
    public override void SetTimesteps(int steps)
    {
        base.SetTimesteps(steps);
        ResetHistory();
    }

    /// <inheritdoc/>
    public override SchedulerStep Step(Tensor modelOutput, long t, Tensor sample, Generator? generator = null)
    {
        var (prev, alphaBar, alphaBarPrev) = BeginStep(modelOutput, t, sample);
        using var scope = torch.NewDisposeScope();
        var (x0, _) = Predict(modelOutput, t, sample);
        bool history = _previousX0 is not null && _expectedT == t && _previousX0.shape.SequenceEqual(x0.shape);
        Tensor prevSample;
        double h = 0;
        if (prev < 0)
        {
            prevSample = x0.clone();                                   // σ' = 0: x_{t'} = x̂0
        }
        else
        {
            double alpha = Math.Sqrt(alphaBar), sigma = Math.Sqrt(1 - alphaBar);
            double alphaNext = Math.Sqrt(alphaBarPrev), sigmaNext = Math.Sqrt(1 - alphaBarPrev);
            h = Math.Log(alphaNext / sigmaNext) - Math.Log(alpha / sigma);
            var d = x0;
            if (history)
            {
                double r = _previousH / h;                             // Algorithm 2: r_i = h_{i−1}/h_i
                d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * _previousX0!;
            }
            prevSample = (sigmaNext / sigma) * sample - alphaNext * (Math.Exp(-h) - 1) * d;
        }
        ResetHistory();
        if (prev >= 0)
        {
            _previousX0 = x0.detach().clone().DetachFromDisposeScope();
            _previousH = h;
            _expectedT = prev;
        }
        return new SchedulerStep(prevSample.MoveToOuterDisposeScope(), x0.MoveToOuterDisposeScope());
    }

    /// <summary>Releases the kept x̂0.</summary>
    public void Dispose() => ResetHistory();

    void ResetHistory()
    {
        _previousX0?.Dispose();
        _previousX0 = null;
        _expectedT = long.MinValue;
    }
}
