using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// A real SIGINT (what Ctrl-C sends) or SIGTERM (kill, a scheduler stopping the job) to a training process: it saves
/// a checkpoint, exits 130 or 143, and the run resumes.
/// </summary>
public class InterruptTests
{
    static Process Start(string args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll");
        // `env --default-signal=INT` undoes an inherited "ignore SIGINT" (what a shell gives commands it starts in the
        // background), so the test does not depend on how the test runner itself was started.
        var psi = new ProcessStartInfo("env", $"--default-signal=INT dotnet \"{cli}\" {args}")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        return Process.Start(psi)!;
    }

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task SignalSavesACheckpointAndExits(string signal, int exitCode)
    {
        if (!OperatingSystem.IsLinux()) return;
        var dir = Path.Combine(TestData.TempDir(), "run");
        using var p = Start($"train vae --out \"{dir}\" --data embedded --steps 100000 --batch-size 16 --set channels=4 --set hidden=16 --checkpoint-every 0");
        var stdout = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        var stderrTask = p.StandardError.ReadToEndAsync();
        // Wait until training is under way (metrics are logged every 50 steps).
        var metrics = Path.Combine(dir, "metrics.jsonl");
        var sw = Stopwatch.StartNew();
        while (!File.Exists(metrics) && sw.Elapsed < TimeSpan.FromSeconds(60) && !p.HasExited) Thread.Sleep(100);
        if (!File.Exists(metrics))
        {
            if (!p.HasExited) p.Kill();
            Assert.Fail("training did not start: " + await stderrTask);
        }

        using (var kill = Process.Start("kill", $"-{signal} {p.Id}")) kill.WaitForExit();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            Assert.Fail($"the process did not stop within 60 s of SIG{signal}");
        }
        p.WaitForExit();
        Assert.Equal(exitCode, p.ExitCode);
        lock (stdout) Assert.Contains("interrupted at step", stdout.ToString());
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "checkpoint", "config.json")))!;
        long step = config["step"]!.GetValue<long>();
        Assert.True(step >= 50, $"checkpoint step {step}");
        Assert.True(File.Exists(Path.Combine(dir, "checkpoint", "trainer_state.json")));

        using var resumed = Start($"train vae --out \"{dir}\" --data embedded --steps {step + 5} --batch-size 16 --resume");
        var outText = resumed.StandardOutput.ReadToEnd();
        resumed.WaitForExit();
        Assert.True(resumed.ExitCode == 0, outText + resumed.StandardError.ReadToEnd());
        Assert.Contains($"done: {step + 5} steps", outText);
    }
}
