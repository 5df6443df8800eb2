using GenSharp.Training;

namespace GenSharp.Models.Energy;

/// <summary>The optimizer and the update shared by <see cref="RbmModel"/> and each layer of <see cref="DbnModel"/>.</summary>
internal static class RbmTraining
{
    /// <summary>Metric names of <see cref="Step"/>; all are losses (the surrogate and two monitors of the fit).</summary>
    public static readonly IReadOnlyCollection<string> LossMetrics = new[] { "recon_error", "pseudo_nll", "free_energy_gap" };

    /// <summary>libtorch SGD with momentum; L2 decay on W only (Hinton's guide: biases are not decayed).</summary>
    public static OptimizerSpec Optimizer(string name, Rbm rbm, RbmConfig c) => new()
    {
        Name = name,
        Algorithm = OptimizerAlgorithm.Sgd,
        Groups = new[]
        {
            new ParamGroupSpec(new[] { rbm.Weight }, c.WeightDecay),
            new ParamGroupSpec(new[] { rbm.VisibleBias, rbm.HiddenBias }, 0.0),
        },
        LearningRate = c.LearningRate,
        Momentum = c.Momentum,
    };

    /// <summary>
    /// One CD-k / PCD update of <paramref name="rbm"/> on binary data <paramref name="v0"/> (B, V): the free-energy
    /// surrogate (<see cref="Rbm.ContrastiveDivergenceLoss"/>) for optimizer <paramref name="optimizer"/>, then the
    /// monitors on the updated weights.
    /// </summary>
    public static IEnumerable<LossTerm> Step(Rbm rbm, int optimizer, Tensor v0, int k, string who, StepContext ctx)
    {
        var loss = rbm.ContrastiveDivergenceLoss(v0, k);
        yield return new LossTerm(optimizer, loss) { Diagnose = () => $"{who}: lower learning_rate" };
        var (recon, pseudoNll) = rbm.Monitors(v0);
        ctx.Log("recon_error", recon);
        ctx.Log("pseudo_nll", pseudoNll);
        ctx.Log("free_energy_gap", loss);
    }
}
