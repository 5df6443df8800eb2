using System.Runtime.InteropServices;
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

    /// <summary>
    /// <see cref="TorchRuntime.OneThreadHere"/> changes the calling thread's libtorch thread count only, also as that thread's
    /// first libtorch call (libtorch's once-per-thread setup would otherwise put the process-wide count back), and disposing
    /// it restores the count. A thread started meanwhile still gets the process-wide count, which torch.set_num_threads(1)
    /// would have changed.
    /// </summary>
    [Fact]
    public void OneThreadHereChangesOnlyTheCallingThread()
    {
        TorchRuntime.EnsureReady();
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            int inside = -1, other = -1, after = -1;
            bool made = false;
            var worker = new Thread(() =>
            {
                using (var one = TorchRuntime.OneThreadHere())            // this thread's first libtorch call
                {
                    made = one is not null;
                    inside = torch.get_num_threads();
                    using (var x = torch.ones(100_000)) Assert.Equal(100_000, x.sum().item<float>());
                    inside = Math.Max(inside, torch.get_num_threads());
                    var started = new Thread(() => other = torch.get_num_threads());
                    started.Start();
                    started.Join();
                }
                after = torch.get_num_threads();
            });
            worker.Start();
            worker.Join();
            Assert.True(made, "OneThreadHere found no OpenMP runtime to set");
            Assert.Equal(1, inside);
            Assert.Equal(2, other);
            Assert.Equal(2, after);
            Assert.Equal(2, torch.get_num_threads());
        }
        finally { torch.set_num_threads(threads); }
    }

    /// <summary>
    /// The tuning has its effect: with glibc's mmap threshold raised to 32 MiB, a 16 MiB block comes from the heap,
    /// so glibc's count of bytes in mmapped chunks (mallinfo2().hblkhd) does not grow. glibc's default threshold
    /// (128 KiB at start) would serve it with a fresh mmap, which it unmaps again on free.
    /// </summary>
    [Fact]
    public void NativeAllocatorServesLargeBlocksFromTheHeap()
    {
        if (!OperatingSystem.IsLinux()) return;
        TorchRuntime.EnsureReady();
        bool tuned = Environment.GetEnvironmentVariable(TorchRuntime.AllocatorTuningVariable) != "0";
        Assert.Equal(tuned, TorchRuntime.AllocatorTuned);
        long before = (long)MallInfo2().hblkhd;
        nint block = Malloc(16 << 20);
        try
        {
            long grown = (long)MallInfo2().hblkhd - before;
            if (tuned) Assert.True(grown < 1 << 20, $"a 16 MiB block was mmapped ({grown} bytes): the mmap threshold is not raised");
            else Assert.True(grown >= 16 << 20, "without tuning glibc mmaps a 16 MiB block");
        }
        finally { Free(block); }
    }

    /// <summary>
    /// Inside <see cref="TorchRuntime.MapLargeAllocations"/> a large block is served by a mapping of its own (glibc's count
    /// of mmapped bytes grows by it), and after the scope the tuned 32 MiB threshold is back, so the same block extends the
    /// heap instead. glibc reaches its mmap threshold only when no free chunk can hold a block, and this test process's heap
    /// holds hundreds of MB of free chunks, so the check runs in a process of its own (<see cref="MapLargeAllocationsProbe"/>).
    /// </summary>
    [Fact]
    public void MapLargeAllocationsMapsBlocksOnlyWhileItLives()
    {
        if (!OperatingSystem.IsLinux()) return;
        var (code, output) = TestProgram.RunProbe("map-large-allocations");
        Assert.True(code == 0, $"probe exited with {code}: {output}");
    }

    /// <summary>The check of <see cref="MapLargeAllocationsMapsBlocksOnlyWhileItLives"/>, in a fresh process: exit code 0 when it holds.</summary>
    internal static int MapLargeAllocationsProbe()
    {
        TorchRuntime.EnsureReady();
        if (Environment.GetEnvironmentVariable(TorchRuntime.AllocatorTuningVariable) == "0")
            return TorchRuntime.MapLargeAllocations() is null ? 0 : Fail("an untuned allocator got a scope");
        if (!TorchRuntime.AllocatorTuned) return Fail("the allocator was not tuned");
        long size = (long)MallInfo2().fordblks + (4 << 20);                  // more than any free chunk: glibc must grow
        if (size >= 31 << 20) return Fail($"a fresh process has {size >> 20} MiB of free heap memory");
        long Mapped()
        {
            long before = (long)MallInfo2().hblkhd;
            nint block = Malloc((nuint)size);
            try { return (long)MallInfo2().hblkhd - before; }
            finally { Free(block); }
        }
        long inside;
        using (TorchRuntime.MapLargeAllocations()) inside = Mapped();
        long after = Mapped();
        if (inside < size) return Fail($"inside the scope a {size}-byte block was not mapped ({inside} bytes)");
        if (after >= size) return Fail($"after the scope a {size}-byte block was still mapped ({after} bytes): the threshold was not restored");
        Console.WriteLine($"mapped inside ({inside} bytes), heap after ({after} bytes)");
        return 0;

        static int Fail(string why)
        {
            Console.Error.WriteLine(why);
            return 1;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")] static extern MallInfo MallInfo2();
    [DllImport("libc.so.6", EntryPoint = "malloc")] static extern nint Malloc(nuint size);
    [DllImport("libc.so.6", EntryPoint = "free")] static extern void Free(nint p);
}
