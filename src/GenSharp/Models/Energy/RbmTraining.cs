using GenSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Energy;

/// <summary>The optimizer and the update step shared by <see cref="RbmModel"/> and each layer of <see cref="DbnModel"/>.</summary>
internal static class RbmTraining
{
    /// <summary>libtorch SGD with momentum; L2 decay on W only (Hinton's guide: biases are not decayed).</summary>
    public static optim.Optimizer Optimizer(Rbm rbm, RbmConfig c) => optim.SGD(new[]
    {
        new SGD.ParamGroup(new[] { rbm.Weight }, c.LearningRate, c.Momentum, 0, c.WeightDecay, false, false),
        new SGD.ParamGroup(new[] { rbm.VisibleBias, rbm.HiddenBias }, c.LearningRate, c.Momentum, 0, 0, false, false),
    }, c.LearningRate, c.Momentum);

    /// <summary>
    /// One CD-k / PCD update of <paramref name="rbm"/> on binary data <paramref name="v0"/> (B, V) through the
    /// free-energy surrogate (<see cref="Rbm.ContrastiveDivergenceLoss"/>), then the monitors.
    /// </summary>
    public static Dictionary<string, double> Step(Rbm rbm, optim.Optimizer opt, Tensor v0, int k, string who)
    {
        var loss = rbm.ContrastiveDivergenceLoss(v0, k);
        double gap = loss.detach().item<float>();   // read from a detached view: no handle on the graph
        if (!double.IsFinite(gap))
            throw new TrainingDivergedException($"{who}: the free-energy gap became {gap}; lower learning_rate");
        opt.zero_grad();
        loss.backward();
        opt.step();
        var (recon, pseudoNll) = rbm.Monitors(v0);
        return new Dictionary<string, double>
        {
            ["recon_error"] = recon,
            ["pseudo_nll"] = pseudoNll,
            ["free_energy_gap"] = gap,
        };
    }
}
