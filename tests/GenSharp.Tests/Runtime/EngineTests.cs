using GenSharp.Runtime;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

public class EngineTests
{
    [Fact]
    public void TensorOpRunsOnLibTorch()
    {
        TorchRuntime.EnsureReady();
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = a.matmul(a.t()); // [[5,14],[14,50]]
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }

    [Fact]
    public void NativeAllocatorIsTunedOnLinuxGlibc()
    {
        TorchRuntime.EnsureReady();
        // mallopt returns 1 on success; a glibc that rejected the thresholds would leave this false.
        bool expected = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(TorchRuntime.AllocatorTuningVariable) != "0";
        Assert.Equal(expected, TorchRuntime.AllocatorTuned);
    }
}
