using System.Diagnostics;
using System.Text;
using GenSharp.Checkpoints;
using Xunit;
using Xunit.Abstractions;
using TorchSharp;

namespace GenSharp.Tests;

/// <summary>Runs the built CLI as one process or as an OpenMPI job (<c>mpirun</c>), and compares run folders.</summary>
static class MpiJob
{
    /// <summary>mpirun options for ranks on this machine: root allowed (CI runs as root), more ranks than cores, TCP loopback.</summary>
    public const string LocalOptions = "--allow-run-as-root --oversubscribe --mca btl self,tcp";

    /// <summary>A GPT small enough for a few steps in a second (a resumed run keeps it: pass it to new runs only).</summary>
    public const string TinyGpt = "--set n_layer=1 --set n_embd=32 --set n_head=2 --set block_size=16 --set eval_iters=2";

    public sealed record Result(int ExitCode, string Output)
    {
        public void AssertSucceeded(string what) => Assert.True(ExitCode == 0, $"{what} exited {ExitCode}:\n{Output}");
    }

    static string Cli => Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll");

    /// <summary>The mpirun on PATH, or null.</summary>
    public static string? Mpirun => FindOnPath("mpirun");

    /// <summary>True (and says so in the test output) when OpenMPI's mpirun is not installed: the caller returns.</summary>
    public static bool Missing(ITestOutputHelper output)
    {
        if (Mpirun is not null) return false;
        output.WriteLine("SKIPPED: mpirun is not on PATH; install OpenMPI (apt-get install openmpi-bin libopenmpi-dev; .ci/run does) to run the distributed tests");
        return true;
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary><c>gensharp ARGS</c> as one ordinary process.</summary>
    public static Result RunCli(string args, int timeoutSeconds = 300) => Run("dotnet", $"\"{Cli}\" {args}", timeoutSeconds);

    /// <summary><c>mpirun -np N [options] gensharp ARGS</c>.</summary>
    public static Result RunMpi(int ranks, string args, string options = LocalOptions, int timeoutSeconds = 300) =>
        Run("mpirun", MpiArguments(ranks, args, options), timeoutSeconds);

    public static string MpiArguments(int ranks, string args, string options = LocalOptions) => $"{options} -np {ranks} dotnet \"{Cli}\" {args}";

    /// <summary>Starts a process with both streams collected into <paramref name="output"/>.</summary>
    public static Process Start(string file, string args, StringBuilder output)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static Result Run(string file, string args, int timeoutSeconds)
    {
        var output = new StringBuilder();
        using var p = Start(file, args, output);
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            lock (output) Assert.Fail($"{file} {args} did not finish within {timeoutSeconds} s:\n{output}");
        }
        p.WaitForExit();
        lock (output) return new Result(p.ExitCode, output.ToString());
    }

    /// <summary>Largest absolute difference between the floating-point tensors of two runs' checkpoints (same names required).</summary>
    public static double MaxDifference(string runA, string runB)
    {
        using var a = Safetensors.Load(Path.Combine(runA, CheckpointFolder.RunSubfolder, CheckpointFolder.ModelFile));
        using var b = Safetensors.Load(Path.Combine(runB, CheckpointFolder.RunSubfolder, CheckpointFolder.ModelFile));
        Assert.Equal(a.Tensors.Keys.Order(), b.Tensors.Keys.Order());
        double max = 0;
        foreach (var (name, t) in a.Tensors)
            if (t.is_floating_point())
                max = Math.Max(max, (t.to(torch.ScalarType.Float64) - b.Tensors[name].to(torch.ScalarType.Float64)).abs().max().item<double>());
        return max;
    }

    /// <summary>A deterministic 30,000-character text (pseudo-random words) for the GPT runs.</summary>
    public static string WriteText(string dir)
    {
        string[] words = ["the", "king", "shall", "not", "speak", "of", "love", "and", "war", "to", "thee", "my", "lord", "good", "night", "sweet", "prince"];
        var sb = new StringBuilder();
        var rng = new Random(21);
        while (sb.Length < 30_000)
        {
            sb.Append(words[rng.Next(words.Length)]);
            sb.Append(rng.Next(9) == 0 ? ".\n" : " ");
        }
        var path = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(path, sb.ToString());
        return path;
    }
}
