using Xunit;
using Xunit.Abstractions;

namespace GenSharp.Tests;

/// <summary>
/// A checkpoint does not remember how many ranks wrote it: a run resumes with another number of ranks (or as one
/// ordinary process) and ends where an uninterrupted single-process run ends.
/// </summary>
public class DistributedResumeTests(ITestOutputHelper output)
{
    [Fact]
    public void ResumesWithAnotherNumberOfRanksAndEndsWhereAnUninterruptedRunEnds()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);
        // lr_decay_steps fixed: a fresh gpt run otherwise decays over its own --steps.
        string Args(string run, int steps) =>
            $"train gpt --data \"{text}\" --steps {steps} --batch-size 8 --seed 4 --checkpoint-every 0 --out \"{Path.Combine(dir, run)}\" --threads 1";
        const string config = " " + MpiJob.TinyGpt + " --set warmup_steps=0 --set lr_decay_steps=8";

        MpiJob.RunCli(Args("whole", 8) + config).AssertSucceeded("8 steps in one process");

        // 2 ranks → 1 rank (an MPI job of one).
        MpiJob.RunMpi(2, Args("a", 4) + config + " --distributed").AssertSucceeded("2 ranks, steps 0..4");
        var a = MpiJob.RunMpi(1, Args("a", 8) + " --resume --distributed");
        a.AssertSucceeded("1 rank, resumed to step 8");
        Assert.Contains("done: 8 steps", a.Output);

        // 1 process → 2 ranks.
        MpiJob.RunCli(Args("b", 4) + config).AssertSucceeded("one process, steps 0..4");
        var b = MpiJob.RunMpi(2, Args("b", 8) + " --resume --distributed");
        b.AssertSucceeded("2 ranks, resumed to step 8");
        Assert.Contains("done: 8 steps", b.Output);

        double da = MpiJob.MaxDifference(Path.Combine(dir, "whole"), Path.Combine(dir, "a"));
        double db = MpiJob.MaxDifference(Path.Combine(dir, "whole"), Path.Combine(dir, "b"));
        output.WriteLine($"max |Δw| vs uninterrupted: 2→1 ranks {da:G3}, 1→2 ranks {db:G3}");
        Assert.True(da < 1e-5, $"2 ranks then 1 differ from one uninterrupted process by {da}");
        Assert.True(db < 1e-5, $"1 process then 2 ranks differ from one uninterrupted process by {db}");
    }

    [Fact]
    public void BatchThatDoesNotSplitOverTheRanksIsAOneLineError()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);
        var r = MpiJob.RunMpi(2, $"train gpt --data \"{text}\" --steps 2 --batch-size 7 --out \"{Path.Combine(dir, "run")}\" {MpiJob.TinyGpt} --threads 1 --distributed");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--batch-size 7 must be a multiple of the 2 ranks", r.Output);
        Assert.DoesNotContain("   at ", r.Output);   // no stack trace
    }
}
