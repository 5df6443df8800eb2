using GenSharp.Runtime;
using System.Globalization;
using GenSharp.Distributed;

namespace GenSharp.Training;

/// <summary>
/// The optimisation step, written once for every family: builds the optimizers from the family's
/// <see cref="ITrainable.OptimizerSpecs"/> and, for each <see cref="LossTerm"/> the family yields, checks the loss is
/// finite, zero-grads, back-propagates, clips the gradient norm (and checks it), sets the scheduled learning rate and
/// steps that optimizer. The <see cref="Trainer"/> uses one per run; tests use it to train a model a few steps.
/// </summary>
/// <remarks>
/// A non-finite loss or clipped-gradient norm never reaches the weights: the check happens before backward / step,
/// and the step stops there (<see cref="StepOutcome.Applied"/> false). Optimizers a family stepped earlier in the same
/// step (a GAN's discriminator before its generator) stay stepped, and buffers a forward pass updated (batch-norm
/// statistics, a replay buffer, a data-dependent initialisation) stay updated: only the offending update is withheld.
/// <para>
/// With a <see cref="DataParallel"/> (one process per MPI rank, each on its share of the batch), each loss is averaged
/// over the ranks before the finiteness check (so every rank takes the same branch), every gradient is averaged over the
/// ranks right after backward — before clipping, so the clipped norm is the whole batch's — and the step's metrics are
/// averaged before they are returned. This is the one gradient hook of distributed training; it covers every family,
/// GANs' two updates included, because every family's update goes through here.
/// </para>
/// </remarks>
public sealed class StepRunner : IDisposable
{
    readonly ITrainable _model;
    readonly OptimizerSpec[] _specs;
    readonly optim.Optimizer[] _optimizers;
    readonly DataParallel? _parallel;

    /// <param name="model">The family's model; its optimizers are built now, over its current parameters.</param>
    /// <param name="parallel">Averages losses, gradients and metrics over MPI ranks; null for a single process.</param>
    public StepRunner(ITrainable model, DataParallel? parallel = null)
    {
        _model = model;
        _parallel = parallel;
        _specs = model.OptimizerSpecs.ToArray();
        if (_specs.Length == 0) throw new ArgumentException("the model declares no optimizer", nameof(model));
        _optimizers = new optim.Optimizer[_specs.Length];
        try
        {
            for (int i = 0; i < _specs.Length; i++) _optimizers[i] = _specs[i].Build();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The built optimizers, in the order of the specs.</summary>
    public IReadOnlyList<optim.Optimizer> Optimizers => _optimizers;

    /// <summary>The specs they were built from.</summary>
    public IReadOnlyList<OptimizerSpec> Specs => _specs;

    /// <summary>Index of the next step for <see cref="Step"/>; <see cref="Run"/> sets it to the step after the one it ran (applied or not).</summary>
    public long StepsDone { get; set; }

    /// <summary>
    /// Runs the next step (index <see cref="StepsDone"/>) and returns its metrics.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss, gradient norm or metric was not finite.</exception>
    public IReadOnlyDictionary<string, double> Step(Tensor inputs, Tensor targets)
    {
        var outcome = Run(StepsDone, inputs, targets);
        return outcome.Problem is { } problem ? throw new TrainingDivergedException(problem) : outcome.Metrics;
    }

    /// <summary>Runs step <paramref name="step"/> (0-based) on a batch already on the model's device. Never throws for non-finite values: see <see cref="StepOutcome"/>.</summary>
    public StepOutcome Run(long step, Tensor inputs, Tensor targets)
    {
        StepsDone = step + 1;
        // Forward and backward both choose their convolution kernels from libtorch's flag at the call: hold it over both.
        using var convolutions = _model.NativeConvolutions ? TorchRuntime.NativeConvolutions() : null;
        var ctx = new StepContext(step);
        var own = new List<(string Name, double Value)>();   // lr and grad_norm of the optimizers stepped
        using (var terms = _model.TrainStep(inputs, targets, ctx).GetEnumerator())
        {
            while (terms.MoveNext())
            {
                var term = terms.Current;
                if (term.Optimizer < 0 || term.Optimizer >= _specs.Length)
                    throw new InvalidOperationException($"a loss names optimizer {term.Optimizer}; the model declares {_specs.Length}");
                var spec = _specs[term.Optimizer];
                var opt = _optimizers[term.Optimizer];
                string what = _specs.Length == 1 ? "the loss" : $"the {spec.Name} loss";

                double loss = term.Loss.detach().to(ScalarType.Float64).item<double>();
                if (_parallel is not null) loss = _parallel.Average(loss);
                if (!double.IsFinite(loss)) return NotApplied($"{what} became {Format(loss)} at step {step + 1}", term);

                if (!spec.Schedule.IsConstant)
                {
                    double lr = spec.Schedule.At(spec.LearningRate, step);
                    foreach (var group in opt.ParamGroups) group.LearningRate = lr;
                    own.Add((Suffixed("lr", spec), lr));
                }
                opt.zero_grad();
                term.Loss.backward();
                _parallel?.AverageGradients(spec.Parameters);
                if (spec.GradClip > 0)
                {
                    double norm = nn.utils.clip_grad_norm_(spec.Parameters, spec.GradClip);
                    if (!double.IsFinite(norm))
                    {
                        opt.zero_grad();
                        return NotApplied($"the gradient norm of {what} became {Format(norm)} at step {step + 1}", term);
                    }
                    own.Add((Suffixed("grad_norm", spec), norm));
                }
                opt.step();
            }
        }
        var metrics = ctx.Read();
        _parallel?.Average(metrics);
        foreach (var (name, value) in own) metrics[name] = value;
        foreach (var (name, value) in metrics)
            if (!double.IsFinite(value))
                return new StepOutcome(metrics, $"{name} became {Format(value)} at step {step + 1} (after the update)", Applied: true);
        return new StepOutcome(metrics, null, Applied: true);
    }

    StepOutcome NotApplied(string problem, LossTerm term)
    {
        string? diagnosis = null;
        if (term.Diagnose is { } diagnose)
        {
            using var _ = torch.no_grad();
            diagnosis = diagnose();
        }
        return new StepOutcome(new Dictionary<string, double>(), string.IsNullOrEmpty(diagnosis) ? problem : $"{problem}; {diagnosis}", Applied: false);
    }

    string Suffixed(string metric, OptimizerSpec spec) => _specs.Length == 1 ? metric : $"{metric}_{spec.Name}";

    static string Format(double v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes every optimizer's state (count, then each in order), the format of <c>optimizer.bin</c>.</summary>
    public void SaveState(BinaryWriter writer)
    {
        writer.Write(_optimizers.Length);
        foreach (var opt in _optimizers)
        {
            var helper = (TorchSharp.Modules.OptimizerHelper)opt;
            using var _ = ContiguousState(helper);
            helper.save_state_dict(writer);
        }
    }

    /// <summary>Reads what <see cref="SaveState"/> wrote (also files written before the trainer owned the optimizers: same types, same order).</summary>
    /// <exception cref="GenSharpException">The file holds another number of optimizers.</exception>
    public void LoadState(BinaryReader reader, string source)
    {
        int n = reader.ReadInt32();
        if (n != _optimizers.Length)
            throw new GenSharpException($"{source}: optimizer state has {n} optimizers, the model has {_optimizers.Length}");
        foreach (var opt in _optimizers)
        {
            var helper = (TorchSharp.Modules.OptimizerHelper)opt;
            using var _ = ContiguousState(helper);
            helper.load_state_dict(reader);
        }
    }

    /// <summary>
    /// Gives every state tensor of <paramref name="optimizer"/> (Adam's moments, …) a contiguous layout until disposed,
    /// then its layout from before, values kept. TorchSharp writes and reads optimizer state as raw bytes and refuses
    /// strided tensors, while the moments of channels-last convolution weights are channels-last
    /// (<see cref="ConvolutionLayout"/>), as the parameters' own updates want them.
    /// </summary>
    static IDisposable ContiguousState(TorchSharp.Modules.OptimizerHelper optimizer)
    {
        var relaid = new List<Tensor>();
        using (torch.no_grad())
        {
            foreach (var state in optimizer.state_dict().State)
                foreach (var field in state.GetType().GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
                {
                    if (field.GetValue(state) is not Tensor t || t.IsInvalid || t.is_contiguous()) continue;
                    using var flat = t.contiguous();
                    t.set_(flat);
                    relaid.Add(t);
                }
        }
        return new Restore(relaid);
    }

    sealed class Restore(List<Tensor> tensors) : IDisposable
    {
        public void Dispose()
        {
            using var _ = torch.no_grad();
            foreach (var t in tensors)
            {
                using var last = ConvolutionLayout.ToChannelsLast(t);
                t.set_(last);
            }
        }
    }

    public void Dispose()
    {
        foreach (var opt in _optimizers) opt?.Dispose();
    }
}
