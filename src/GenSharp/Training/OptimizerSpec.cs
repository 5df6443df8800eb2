using TorchSharp.Modules;

namespace GenSharp.Training;

/// <summary>
/// A family's declaration of one optimizer: which algorithm, over which parameters, with which settings, schedule and
/// gradient clipping. The <see cref="Trainer"/> (through <see cref="StepRunner"/>) builds the libtorch optimizer from it
/// and owns it; families never hold an optimizer.
/// </summary>
public sealed record OptimizerSpec
{
    /// <summary>Short name used in messages and, when a family has several optimizers, as the suffix of <c>lr_NAME</c> / <c>grad_norm_NAME</c>.</summary>
    public required string Name { get; init; }
    /// <summary>The algorithm.</summary>
    public OptimizerAlgorithm Algorithm { get; init; } = OptimizerAlgorithm.Adam;
    /// <summary>Parameter groups, in order (one group is the usual case).</summary>
    public required IReadOnlyList<ParamGroupSpec> Groups { get; init; }
    /// <summary>Base learning rate (the schedule scales it per step).</summary>
    public required double LearningRate { get; init; }
    /// <summary>Adam/AdamW β1.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>Adam/AdamW β2.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Adam/AdamW ε.</summary>
    public double Eps { get; init; } = 1e-8;
    /// <summary>Weight decay of groups that do not set their own (AdamW: decoupled; Adam, SGD: L2 on the gradient).</summary>
    public double WeightDecay { get; init; }
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; }
    /// <summary>Learning-rate schedule over the 0-based step index.</summary>
    public LrSchedule Schedule { get; init; } = LrSchedule.Constant;
    /// <summary>Clip the global gradient norm of this optimizer's parameters to this value; 0 = no clipping.</summary>
    public double GradClip { get; init; }

    /// <summary>A one-group spec over <paramref name="parameters"/>.</summary>
    public static OptimizerSpec Single(string name, OptimizerAlgorithm algorithm, IEnumerable<Parameter> parameters, double learningRate) =>
        new() { Name = name, Algorithm = algorithm, Groups = new[] { new ParamGroupSpec(parameters.ToList()) }, LearningRate = learningRate };

    /// <summary>
    /// AdamW as transformers train: weight decay on the parameters of two or more dimensions (first group), none on the
    /// rest — biases and norm gains (second group).
    /// </summary>
    public static OptimizerSpec TransformerAdamW(string name, IEnumerable<Parameter> parameters, double weightDecay, double learningRate,
        double beta1, double beta2, LrSchedule schedule, double gradClip)
    {
        var all = parameters.ToList();
        return new()
        {
            Name = name,
            Algorithm = OptimizerAlgorithm.AdamW,
            Groups = new[]
            {
                new ParamGroupSpec(all.Where(p => p.dim() >= 2).ToList(), weightDecay),
                new ParamGroupSpec(all.Where(p => p.dim() < 2).ToList(), 0.0),
            },
            LearningRate = learningRate,
            Beta1 = beta1,
            Beta2 = beta2,
            Schedule = schedule,
            GradClip = gradClip,
        };
    }

    /// <summary>Every parameter of every group, in order (the parameters clipping looks at).</summary>
    public IEnumerable<Parameter> Parameters => Groups.SelectMany(g => g.Parameters);

    /// <summary>
    /// Builds the optimizer: Adam and AdamW are <see cref="Fused.Adam"/> / <see cref="Fused.AdamW"/> (libtorch's fused
    /// multi-tensor update over TorchSharp's optimizer state), SGD is libtorch's. A single group without its own weight
    /// decay uses the plain constructor, several groups the param-group one, so the saved state has the form the families'
    /// checkpoints have always had.
    /// </summary>
    public torch.optim.Optimizer Build()
    {
        Validate();
        bool plain = Groups.Count == 1 && Groups[0].WeightDecay is null;
        switch (Algorithm)
        {
            case OptimizerAlgorithm.Adam:
                return plain
                    ? new Fused.Adam(Groups[0].Parameters, LearningRate, Beta1, Beta2, Eps, WeightDecay)
                    : new Fused.Adam(Groups.Select(g => new Adam.ParamGroup(g.Parameters, LearningRate, Beta1, Beta2, Eps, g.WeightDecay ?? WeightDecay, false, false)),
                                    LearningRate, Beta1, Beta2, Eps, WeightDecay);
            case OptimizerAlgorithm.AdamW:
                return plain
                    ? new Fused.AdamW(Groups[0].Parameters, LearningRate, Beta1, Beta2, Eps, WeightDecay)
                    : new Fused.AdamW(Groups.Select(g => new AdamW.ParamGroup(g.Parameters, LearningRate, Beta1, Beta2, Eps, g.WeightDecay ?? WeightDecay, false, false)),
                                     LearningRate, Beta1, Beta2, Eps, WeightDecay);
            case OptimizerAlgorithm.Sgd:
                return plain
                    ? torch.optim.SGD(Groups[0].Parameters, learningRate: LearningRate, momentum: Momentum, weight_decay: WeightDecay)
                    : torch.optim.SGD(Groups.Select(g => new SGD.ParamGroup(g.Parameters, LearningRate, Momentum, 0, g.WeightDecay ?? WeightDecay, false, false)),
                                      learningRate: LearningRate, momentum: Momentum, weight_decay: WeightDecay);
            default:
                throw new ArgumentOutOfRangeException(nameof(Algorithm), Algorithm, "unknown optimizer algorithm");
        }
    }

    void Validate()
    {
        if (Groups.Count == 0) throw new ArgumentException($"optimizer {Name}: no parameter groups");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, $"optimizer {Name}: learning rate must be finite and > 0");
        if (!(GradClip >= 0) || !double.IsFinite(GradClip)) throw new ArgumentOutOfRangeException(nameof(GradClip), GradClip, $"optimizer {Name}: grad clip must be finite and ≥ 0");
    }
}
