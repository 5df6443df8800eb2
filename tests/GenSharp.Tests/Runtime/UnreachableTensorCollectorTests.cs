using GenSharp.Runtime;
using Xunit;

namespace GenSharp.Tests;

public class UnreachableTensorCollectorTests
{
    [Fact]
    public void FastStepsShareOneCollectionPerInterval()
    {
        var collector = new UnreachableTensorCollector(everySteps: 3, everySeconds: 3600);
        var collected = Enumerable.Range(0, 9).Select(_ => collector.AfterStep()).ToArray();
        Assert.Equal(new[] { false, false, true, false, false, true, false, false, true }, collected);
    }

    [Fact]
    public void SlowStepsCollectEveryStep()
    {
        var collector = new UnreachableTensorCollector(everySteps: 10, everySeconds: 0.02);
        for (int i = 0; i < 3; i++)
        {
            Thread.Sleep(30);                                  // a step longer than the time bound
            Assert.True(collector.AfterStep(), $"step {i + 1}");
        }
    }

    [Fact]
    public void AnIntervalBelowOneStepIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new UnreachableTensorCollector(everySteps: 0));
}
