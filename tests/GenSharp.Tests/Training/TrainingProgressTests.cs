using GenSharp.Training;
using Xunit;

namespace GenSharp.Tests;

public class TrainingProgressTests
{
    [Fact]
    public void PlainProgressPrintsAHeaderEventsAndAStatusLinePerInterval()
    {
        var now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var writer = new StringWriter { NewLine = "\n" };
        var progress = TrainingProgress.Plain(TimeSpan.FromSeconds(10), writer, () => now);
        int result = progress.Run("vae", 0, 6, reporter =>
        {
            // Seconds after the start at which steps 1..6 end.
            double[] at = { 3, 6, 10, 12, 19, 21 };
            for (int i = 0; i < at.Length; i++)
            {
                now = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(at[i]);
                reporter.Report(i + 1, $"status {i + 1}");
                if (i == 1) reporter.Log("checkpoint: step 2");
            }
            return 42;
        });
        Assert.Equal(42, result);
        // Step 3 is the first at ≥ 10 s; the next line is due 10 s after it (step 6 at 21 s), which is also the last step.
        Assert.Equal(new[] { "vae: steps 0..6", "checkpoint: step 2", "status 3", "status 6" },
                     writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void PlainProgressFlushesTheLastStatusWhenTheLoopStopsEarly()
    {
        var writer = new StringWriter { NewLine = "\n" };
        var t0 = DateTime.UnixEpoch;
        TrainingProgress.Plain(TimeSpan.FromSeconds(10), writer, () => t0).Run("gpt", 5, 100, r =>
        {
            r.Report(6, "status 6");
            r.Report(7, "status 7");   // interrupted at step 7 of 100, within the interval
            return 0;
        });
        Assert.Equal(new[] { "gpt: steps 5..100", "status 7" }, writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void SilentProgressRunsTheLoopAndPrintsNothing()
    {
        var original = Console.Out;
        var writer = new StringWriter();
        Console.SetOut(writer);
        try
        {
            Assert.Equal(7, TrainingProgress.Silent.Run("x", 0, 3, r => { r.Report(1, "s"); r.Log("l"); return 7; }));
        }
        finally { Console.SetOut(original); }
        Assert.Equal("", writer.ToString());
    }
}
