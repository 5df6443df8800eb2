using GenSharp.Runtime;
using TorchSharp.Modules;

// The fused optimizers are named Adam and AdamW, as the TorchSharp classes they extend: TorchSharp writes an optimizer's
// class name (not its full name) into its saved state and refuses to load state under another, so the trainer's
// optimizer.bin files, written by TorchSharp's Adam and AdamW until now, resume with these, and the other way round.
namespace GenSharp.Training.Fused;

/// <summary>
/// Adam whose update is libtorch's fused multi-tensor kernel (<c>_fused_adam_</c>): one call updates every parameter of
/// a group, one pass over each, where TorchSharp's <see cref="TorchSharp.Modules.Adam"/> makes about nine tensor calls per
/// parameter (measured on 240 tensors of 3 M values: 26.5 → 3.3 ms a step, 2 threads). Same algorithm (PyTorch's reference,
/// L2 weight decay on the gradient), same state and saved form as TorchSharp's, so checkpoints written before it resume
/// with it; the results agree with TorchSharp's to float rounding (tested). AMSGrad and maximize take TorchSharp's own step.
/// </summary>
public sealed class Adam : TorchSharp.Modules.Adam
{
    readonly FusedAdamUpdate _update = new(decoupled: false);

    /// <summary>Parameter groups with their own settings; the rest as TorchSharp's Adam.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay) { }

    /// <summary>One group over <paramref name="parameters"/>.</summary>
    public Adam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(parameters, lr, beta1, beta2, eps, weightDecay) { }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (_parameter_groups.Any(g => g.Options is Options { amsgrad: true } or Options { maximize: true })) return base.step(closure);
        return _step<ParamGroup>(group =>
        {
            var o = (Options)group.Options;
            _update.Run(group.Parameters, p => (State)_state[p.Handle], s => ref s.step, s => (s.exp_avg, s.exp_avg_sq),
                o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.weight_decay!.Value, o.eps!.Value);
        }, closure);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _update.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// AdamW (decoupled weight decay) whose update is libtorch's fused multi-tensor kernel (<c>_fused_adamw_</c>); see
/// <see cref="Adam"/>. Same state and saved form as <see cref="TorchSharp.Modules.AdamW"/>.
/// </summary>
public sealed class AdamW : TorchSharp.Modules.AdamW
{
    readonly FusedAdamUpdate _update = new(decoupled: true);

    /// <summary>Parameter groups with their own settings; the rest as TorchSharp's AdamW.</summary>
    public AdamW(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(groups, lr, beta1, beta2, eps, weightDecay) { }

    /// <summary>One group over <paramref name="parameters"/>.</summary>
    public AdamW(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay)
        : base(parameters, lr, beta1, beta2, eps, weightDecay) { }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (_parameter_groups.Any(g => g.Options is Options { amsgrad: true } or Options { maximize: true })) return base.step(closure);
        return _step<ParamGroup>(group =>
        {
            var o = (Options)group.Options;
            _update.Run(group.Parameters, p => (State)_state[p.Handle], s => ref s.step, s => (s.exp_avg, s.exp_avg_sq),
                o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.weight_decay!.Value, o.eps!.Value);
        }, closure);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _update.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>
/// The fused update over one parameter group, shared by <see cref="Adam"/> and <see cref="AdamW"/>: gathers the
/// parameters that have gradients with their moments, advances their step counts, and calls the kernel once. The kernel
/// reads each parameter's step from a tensor; those are kept here and set from the optimizer's own counts whenever they
/// differ (a loaded state), so the saved state stays the optimizer's.
/// </summary>
internal sealed class FusedAdamUpdate : IDisposable
{
    // The kernel walks each parameter, its gradient and its moments as flat arrays, so they must share one layout (a
    // channels-last weight's gradient can come back contiguous, and relaying the optimizer's state for saving changes the
    // moments'): a gradient of another layout is copied into the parameter's, moments are relaid in place.
    static readonly Lazy<torch.jit.CompilationUnit> Unit = new(() => torch.jit.compile("""
        def same_layout(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor]):
            for i in range(len(params)):
                p = params[i]
                if grads[i].stride() != p.stride():
                    grads[i] = torch.empty_like(p).copy_(grads[i])
                if exp_avgs[i].stride() != p.stride():
                    exp_avgs[i].set_(torch.empty_like(p).copy_(exp_avgs[i]))
                if exp_avg_sqs[i].stride() != p.stride():
                    exp_avg_sqs[i].set_(torch.empty_like(p).copy_(exp_avg_sqs[i]))

        def adam(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor],
                 lr: float, beta1: float, beta2: float, weight_decay: float, eps: float):
            same_layout(params, grads, exp_avgs, exp_avg_sqs)
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2,
                               weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)

        def adamw(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor], steps: List[Tensor],
                  lr: float, beta1: float, beta2: float, weight_decay: float, eps: float):
            same_layout(params, grads, exp_avgs, exp_avg_sqs)
            torch._foreach_add_(steps, 1)
            torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=lr, beta1=beta1, beta2=beta2,
                                weight_decay=weight_decay, eps=eps, amsgrad=False, maximize=False)

        """), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Mean values per tensor under which a group is updated on the calling thread alone.</summary>
    const long SerialBelow = 1 << 20;

    readonly string _function;
    readonly Dictionary<IntPtr, (Tensor Count, long Value)> _steps = new();

    internal FusedAdamUpdate(bool decoupled) => _function = decoupled ? "adamw" : "adam";

    internal delegate ref long StepOf<TState>(TState state);

    /// <summary>
    /// Updates the parameters of <paramref name="parameters"/> that have a gradient (inside the optimizer's no-grad,
    /// dispose-scoped step); <paramref name="state"/> gives a parameter's state, <paramref name="count"/> its step count
    /// and <paramref name="moments"/> its first and second moments.
    /// </summary>
    internal void Run<TState>(IEnumerable<Parameter> parameters, Func<Parameter, TState> state, StepOf<TState> count,
        Func<TState, (Tensor ExpAvg, Tensor ExpAvgSq)> moments, double lr, double beta1, double beta2, double weightDecay, double eps)
    {
        var ps = new List<Tensor>();
        var grads = new List<Tensor>();
        var m = new List<Tensor>();
        var v = new List<Tensor>();
        var steps = new List<Tensor>();
        long values = 0;
        foreach (var p in parameters)
        {
            var grad = p.grad;
            if (grad is null) continue;
            var s = state(p);
            ref long n = ref count(s);
            if (!_steps.TryGetValue(p.Handle, out var kept))
                kept = (torch.zeros(Array.Empty<long>(), ScalarType.Float32, p.device).DetachFromDisposeScope(), 0);
            if (kept.Value != n) kept.Count.fill_(n);                  // a new parameter, or a state loaded since
            var (expAvg, expAvgSq) = moments(s);
            ps.Add(p); grads.Add(grad); m.Add(expAvg); v.Add(expAvgSq); steps.Add(kept.Count);
            values += p.numel();
            n += 1;
            _steps[p.Handle] = (kept.Count, n);
        }
        if (ps.Count == 0) return;
        // The kernel splits each tensor between libtorch's threads; for tensors under a million values a parameter's share
        // is less work than waking and joining them (glow's 180 tensors, 2 threads: 1.5 → 0.9 ms a step).
        using (values / ps.Count < SerialBelow ? TorchRuntime.OneThreadHere() : null)
            Unit.Value.Invoke(_function, ps.ToArray(), grads.ToArray(), m.ToArray(), v.ToArray(), steps.ToArray(), lr, beta1, beta2, weightDecay, eps);
    }

    public void Dispose()
    {
        foreach (var (count, _) in _steps.Values) count.Dispose();
        _steps.Clear();
    }
}
