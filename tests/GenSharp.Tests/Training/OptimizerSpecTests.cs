using GenSharp.Models.Energy;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class OptimizerSpecTests
{
    [Fact]
    public void GroupsKeepTheirOwnWeightDecayAndTheSharedSettings()
    {
        TorchRuntime.EnsureReady();
        using var lin = nn.Linear(3, 2);
        var spec = new OptimizerSpec
        {
            Name = "t",
            Algorithm = OptimizerAlgorithm.Adam,
            Groups = new[] { new ParamGroupSpec(new[] { lin.weight! }, 0.25), new ParamGroupSpec(new[] { lin.bias! }) },
            LearningRate = 0.5,
            Beta1 = 0.7,
            Beta2 = 0.8,
            Eps = 1e-5,
            WeightDecay = 0.125,
        };
        using var opt = spec.Build();
        var groups = opt.ParamGroups.Cast<Adam.ParamGroup>().ToList();
        Assert.Equal(new[] { 0.25, 0.125 }, groups.Select(g => g.Options.weight_decay!.Value));
        Assert.All(groups, g =>
        {
            Assert.Equal(0.5, g.Options.LearningRate);
            Assert.Equal(0.7, g.Options.beta1);
            Assert.Equal(0.8, g.Options.beta2);
            Assert.Equal(1e-5, g.Options.eps);
        });
        Assert.Equal(new[] { lin.weight!, lin.bias! }, spec.Parameters);
    }

    [Fact]
    public void RbmSgdDecaysTheWeightsOnlyWithMomentum()
    {
        TorchRuntime.Seed(0);
        using var model = new RbmModel(new RbmConfig { Hidden = 4, LearningRate = 0.05, Momentum = 0.5, WeightDecay = 0.01 }, torch.CPU);
        using var runner = new StepRunner(model);
        var groups = runner.Optimizers.Single().ParamGroups.Cast<SGD.ParamGroup>().ToList();
        Assert.Equal(new[] { 0.01, 0.0 }, groups.Select(g => g.Options.weight_decay!.Value));
        Assert.All(groups, g => Assert.Equal(0.5, g.Options.momentum));
        Assert.Same(model.Network.Weight, groups[0].Parameters.Single());
        Assert.Equal(2, groups[1].Parameters.Count());
    }

    [Fact]
    public void ASpecWithoutParametersOrWithABadRateIsRefused()
    {
        Assert.Throws<ArgumentException>(() => new OptimizerSpec { Name = "x", Groups = Array.Empty<ParamGroupSpec>(), LearningRate = 1 }.Build());
        using var lin = nn.Linear(1, 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerSpec.Single("x", OptimizerAlgorithm.Sgd, lin.parameters(), 0).Build());
        Assert.Throws<ArgumentOutOfRangeException>(() => (OptimizerSpec.Single("x", OptimizerAlgorithm.Sgd, lin.parameters(), 1) with { GradClip = double.NaN }).Build());
    }
}
