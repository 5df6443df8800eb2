using System.Diagnostics;
using System.Text;
using GenSharp.Checkpoints;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// One rank killed outright (SIGKILL: no handler runs in it) mid-run: the job stops within seconds instead of hanging,
/// the surviving rank says in one line what happened and where the last checkpoint is, and that checkpoint loads and
/// resumes.
/// </summary>
public class RankFailureTests(ITestOutputHelper output)
{
    [Fact]
    public void KilledRankStopsTheJobWithOneLineAndLeavesTheLastCheckpointIntact()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);
        var run = Path.Combine(dir, "run");
        var log = new StringBuilder();
        using var job = MpiJob.Start("mpirun", MpiJob.MpiArguments(2,
            $"train gpt --data \"{text}\" --steps 1000000 --batch-size 8 --checkpoint-every 20 --out \"{run}\" {MpiJob.TinyGpt} --threads 1 --distributed"), log);
        try
        {
            var sw = Stopwatch.StartNew();
            while (!(Checkpoint.Exists(run) && Checkpoint.Open(run).Step >= 40) && !job.HasExited && sw.Elapsed < TimeSpan.FromSeconds(120)) Thread.Sleep(100);
            Assert.False(job.HasExited, "the job ended before the kill:\n" + log);
            Assert.True(Checkpoint.Exists(run), "no checkpoint within 120 s:\n" + log);

            int victim = RankProcess(rank: 1, run) ?? throw new Xunit.Sdk.XunitException("rank 1's process not found");
            using (var p = Process.GetProcessById(victim)) p.Kill();   // SIGKILL
            Assert.True(job.WaitForExit(60_000), "the job did not stop within 60 s of a rank's death:\n" + log);
            job.WaitForExit();
        }
        finally
        {
            if (!job.HasExited) job.Kill(entireProcessTree: true);
        }

        string all;
        lock (log) all = log.ToString();
        output.WriteLine(all);
        Assert.NotEqual(0, job.ExitCode);
        // The survivor's own line: either the failed collective or mpirun's SIGTERM, whichever reaches it first.
        var lines = all.Split('\n').Where(l => l.Contains("gensharp: rank 0 of 2 stopped") || l.Contains("another rank of the MPI job has stopped")).ToList();
        Assert.True(lines.Count == 1, "expected one line from the surviving rank:\n" + all);
        Assert.Contains("checkpoint", lines[0]);

        var checkpoint = Checkpoint.Open(run);
        Assert.True(checkpoint.Step >= 40 && checkpoint.Step % 20 == 0, $"checkpoint step {checkpoint.Step}");
        Assert.Contains($"(step {checkpoint.Step})", lines[0]);
        using (var model = Checkpoint.LoadModel(run, CPU))
            Assert.NotEmpty(model.Model.Model.parameters());
        var resumed = MpiJob.RunCli($"train gpt --out \"{run}\" --steps {checkpoint.Step + 2} --resume --threads 1");
        resumed.AssertSucceeded("resume after the failure");
        Assert.Contains($"done: {checkpoint.Step + 2} steps", resumed.Output);
    }

    /// <summary>The process of rank <paramref name="rank"/> of the job writing <paramref name="run"/> (OpenMPI sets OMPI_COMM_WORLD_RANK).</summary>
    static int? RankProcess(int rank, string run)
    {
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                if (!File.ReadAllText(Path.Combine(d, "cmdline")).Contains(run)) continue;
                if (File.ReadAllText(Path.Combine(d, "environ")).Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}
