using System.Diagnostics;

namespace GenSharp.Tests;

/// <summary>
/// The test assembly's entry point. The test runner loads the assembly without calling it; tests that need a process of
/// their own (a fresh native heap, say) start <c>dotnet GenSharp.Tests.dll probe NAME</c> through <see cref="RunProbe"/>,
/// and the probe's exit code and output decide the test.
/// </summary>
public static class TestProgram
{
    static readonly Dictionary<string, Func<int>> Probes = new(StringComparer.Ordinal)
    {
        ["map-large-allocations"] = EngineTests.MapLargeAllocationsProbe,
    };

    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == "probe" && Probes.TryGetValue(args[1], out var probe)) return probe();
        Console.Error.WriteLine($"usage: dotnet GenSharp.Tests.dll probe {string.Join("|", Probes.Keys)}");
        return 2;
    }

    /// <summary>Runs probe <paramref name="name"/> in a new process; returns its exit code and its standard output and error.</summary>
    public static (int ExitCode, string Output) RunProbe(string name)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { typeof(TestProgram).Assembly.Location, "probe", name }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000)) { p.Kill(); return (-1, "probe timed out"); }
        return (p.ExitCode, stdout + stderr.Result);
    }
}
