using GenSharp.Training;
using Xunit;

namespace GenSharp.Tests;

public class LrScheduleTests
{
    [Fact]
    public void ConstantIsTheBaseRate()
    {
        Assert.True(LrSchedule.Constant.IsConstant);
        Assert.Equal(0.003, LrSchedule.Constant.At(0.003, 0));
        Assert.Equal(0.003, LrSchedule.Constant.At(0.003, 1_000_000));
        Assert.Same(LrSchedule.Constant, LrSchedule.LinearWarmup(0));
        Assert.Same(LrSchedule.Constant, LrSchedule.CosineToFraction(0, 0.01));
    }

    [Fact]
    public void LinearWarmupRisesToTheBaseRate()
    {
        var s = LrSchedule.LinearWarmup(4);
        Assert.False(s.IsConstant);
        // lr · min(1, (step + 1)/4), by hand: 0.25, 0.5, 0.75, 1, 1, ...
        Assert.Equal(new[] { 0.25e-3, 0.5e-3, 0.75e-3, 1e-3, 1e-3, 1e-3 }, Enumerable.Range(0, 6).Select(i => s.At(1e-3, i)).ToArray());
    }

    [Fact]
    public void WarmupCosineFollowsGptsFormula()
    {
        var s = LrSchedule.WarmupCosine(warmupSteps: 4, decaySteps: 24, minLearningRate: 1e-4);
        double lr = 1e-3;
        Assert.Equal(lr * 1 / 5, s.At(lr, 0), 15);                  // warm-up: (step + 1)/(warmup + 1)
        Assert.Equal(lr * 4 / 5, s.At(lr, 3), 15);
        Assert.Equal(lr, s.At(lr, 4), 15);                          // cosine starts at cos(0) = 1
        // step 9: a quarter of the way, ½(1 + cos(π/4)) = 0.853553...
        Assert.Equal(1e-4 + 0.8535533905932737 * 9e-4, s.At(lr, 9), 15);
        Assert.Equal(5.5e-4, s.At(lr, 14), 15);                     // halfway: the mean of lr and the floor
        Assert.Equal(1e-4, s.At(lr, 24), 15);
        Assert.Equal(1e-4, s.At(lr, 10_000), 15);
        // Decay steps not after the warm-up: the floor after it; 0: the base rate after it.
        Assert.Equal(1e-4, LrSchedule.WarmupCosine(4, 3, 1e-4).At(lr, 4), 15);
        Assert.Equal(lr, LrSchedule.WarmupCosine(4, 0, 1e-4).At(lr, 4), 15);
    }

    [Fact]
    public void CosineToFractionFollowsTheClassifiersFormula()
    {
        var s = LrSchedule.CosineToFraction(decaySteps: 8, finalFraction: 0.01);
        double lr = 0.002;
        Assert.Equal(lr, s.At(lr, 0), 15);
        Assert.Equal(lr * (0.01 + 0.99 * 0.5 * (1 + Math.Sqrt(0.5))), s.At(lr, 2), 15);   // cos(π/4)
        Assert.Equal(lr * (0.01 + 0.99 * 0.5), s.At(lr, 4), 15);                            // cos(π/2) = 0
        Assert.Equal(lr * 0.01, s.At(lr, 8), 15);
        Assert.Equal(lr * 0.01, s.At(lr, 80), 15);
    }

    [Fact]
    public void TheRunnerSetsAndReportsTheScheduledRate()
    {
        GenSharp.Runtime.TorchRuntime.Seed(0);
        using var net = TorchSharp.torch.nn.Linear(2, 1);
        var model = new ScheduledToy(net, LrSchedule.LinearWarmup(4));
        using var runner = new StepRunner(model);
        using var x = TorchSharp.torch.ones(3, 2);
        var rates = Enumerable.Range(0, 5).Select(_ => runner.Step(x, x)["lr"]).ToArray();
        Assert.Equal(new[] { 0.1 * 0.25, 0.1 * 0.5, 0.1 * 0.75, 0.1, 0.1 }, rates);   // 0.1·min(1, (step + 1)/4)
        Assert.Equal(0.1, runner.Optimizers[0].ParamGroups.Single().LearningRate);
        // A constant schedule is neither set nor reported.
        using var runner2 = new StepRunner(new ScheduledToy(net, LrSchedule.Constant));
        Assert.DoesNotContain("lr", runner2.Step(x, x).Keys);
    }

    sealed class ScheduledToy(TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> net, LrSchedule schedule) : ITrainable
    {
        public TorchSharp.torch.nn.Module Model => net;
        public IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
            new[] { OptimizerSpec.Single("toy", OptimizerAlgorithm.Sgd, net.parameters(), 0.1) with { Schedule = schedule } };
        public int ConditionalClasses => 0;
        public TorchSharp.torch.Tensor? Sample(int n, TorchSharp.torch.Tensor? labels) => null;
        public IEnumerable<LossTerm> TrainStep(TorchSharp.torch.Tensor inputs, TorchSharp.torch.Tensor targets, StepContext ctx)
        {
            var loss = net.forward(inputs).square().mean();
            ctx.Log("loss", loss);
            yield return new LossTerm(0, loss);
        }
    }
}
