using System.Runtime.CompilerServices;
using GenSharp.Runtime;

namespace GenSharp.Tests;

static class TestStartup
{
    /// <summary>Every test runs with the engine set up as the CLI and server set it up (allocator, oneDNN switch).</summary>
    [ModuleInitializer]
    internal static void Init()
    {
        // Watermark and signing keys go to a folder of the test run, never the user's ~/.config/gensharp.
        Environment.SetEnvironmentVariable("GENSHARP_CONFIG_DIR", Path.Combine(Path.GetTempPath(), $"gensharp-tests-config-{Environment.ProcessId}"));
        TorchRuntime.EnsureReady();
    }
}
