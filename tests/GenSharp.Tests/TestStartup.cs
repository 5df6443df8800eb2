using System.Runtime.CompilerServices;
using GenSharp.Runtime;

namespace GenSharp.Tests;

static class TestStartup
{
    /// <summary>Every test runs with the engine set up as the CLI and server set it up (allocator, oneDNN switch).</summary>
    [ModuleInitializer]
    internal static void Init() => TorchRuntime.EnsureReady();
}
