using System.Reflection;
using System.Runtime.InteropServices;

namespace GenSharp.Runtime;

/// <summary>Native engine start-up, device choice, threads and seeding.</summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool _ready;

    /// <summary>libtorch version this build references.</summary>
    public const string LibTorchVersion = "2.10.0";

    /// <summary>
    /// Loads libtorch and TorchSharp's native shim once, turning a load failure into a one-line
    /// message. Every entry point calls this before its first tensor.
    /// </summary>
    public static void EnsureReady()
    {
        if (_ready) return;
        lock (Gate)
        {
            if (_ready) return;
            TuneNativeAllocator();
            try
            {
                using var probe = torch.zeros(1);
            }
            catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException)
            {
                var inner = e;
                while (inner.InnerException is not null) inner = inner.InnerException;
                throw new GenSharpException(
                    "could not load libtorch (TorchSharp native libraries): " + inner.Message.Split('\n')[0] +
                    " — rebuild with 'dotnet build' so the native files are copied and patched for this system");
            }
            ConfigureMklDispatch();
            // NNPACK fails to initialise on CPUs it does not know (AVX-512 EPYC: "Could not initialize NNPACK! Reason:
            // Unsupported hardware"), and libtorch then warns on every no-grad convolution it would have taken and falls
            // back to its own kernels anyway; turning it off keeps the same kernels without the warnings.
            try { Native.SetUserEnabledNnpack(Native.GlobalContext(), false); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
            ConfigureOneDnn();                 // after NNPACK: the check's no-grad convolutions would warn
            _ready = true;
        }
    }

    /// <summary>
    /// Environment variable that chooses libtorch's oneDNN (mkldnn) convolutions: <c>1</c> runs them with channels-last
    /// weights (<see cref="ConvolutionLayout"/>), <c>0</c> turns them off, <c>blocked</c> runs them in libtorch's
    /// default layout (for measurements; wrong on the machine described at <see cref="ConfigureOneDnn"/>); unset,
    /// <see cref="OneDnnCheck"/> decides once per machine.
    /// </summary>
    public const string OneDnnVariable = "GENSHARP_ONEDNN";

    /// <summary>
    /// Whether this process runs float32 CPU convolutions in oneDNN: its choice, which libtorch's own flag follows except
    /// inside a <see cref="NativeConvolutions"/> scope.
    /// </summary>
    public static bool OneDnnConvolutions { get { lock (BackendGate) return _oneDnnChosen; } }

    /// <summary>libtorch's own oneDNN flag right now, which its convolutions read at each call.</summary>
    public static bool OneDnnFlag => Native.UserEnabledMkldnn(Native.GlobalContext());

    /// <summary>Whether models keep convolution weights channels-last for oneDNN (see <see cref="ConvolutionLayout"/>).</summary>
    public static bool OneDnnChannelsLast { get; private set; } = true;

    /// <summary>Why <see cref="OneDnnConvolutions"/> has its value: the variable, or the machine check's verdict.</summary>
    public static string OneDnnReason { get; private set; } = "libtorch's default";

    /// <summary>Sets libtorch's oneDNN flag for the whole process (TorchSharp has no setter, so this calls <c>at::Context</c>).</summary>
    public static void SetOneDnnConvolutions(bool enabled)
    {
        lock (BackendGate)
        {
            _oneDnnChosen = enabled;
            SetMkldnnFlag(enabled && _nativeScopes == 0);
        }
    }

    static readonly object BackendGate = new();
    static bool _oneDnnChosen = true;   // the process's choice; native scopes override it while any is open
    static int _nativeScopes;

    /// <summary>
    /// Runs libtorch's native convolution kernels until the returned scope is disposed, whatever the process chose
    /// (<see cref="SetOneDnnConvolutions"/>); scopes nest and may overlap across threads, and the process's choice
    /// returns when the last one ends. libtorch reads its flag at every convolution call, forward and backward, so a
    /// training step must hold one scope over both. Another model's convolutions running meanwhile on another thread
    /// also go native: still correct, only slower. Native kernels are always correct (<see cref="OneDnnCheck"/> holds
    /// oneDNN to them), so nothing a scope changes can change a result beyond rounding.
    /// </summary>
    public static IDisposable NativeConvolutions()
    {
        lock (BackendGate)
        {
            if (_nativeScopes++ == 0) SetMkldnnFlag(false);
        }
        return new NativeConvolutionScope();
    }

    sealed class NativeConvolutionScope : IDisposable
    {
        int _disposed;
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (BackendGate)
            {
                if (--_nativeScopes == 0) SetMkldnnFlag(_oneDnnChosen);
            }
        }
    }

    static void SetMkldnnFlag(bool enabled)
    {
        try { Native.SetUserEnabledMkldnn(Native.GlobalContext(), enabled); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>
    /// Keeps libtorch's oneDNN convolutions only where they compute what the native im2col + GEMM path does. On an
    /// AMD EPYC (family 26, AVX-512) under one hypervisor, libtorch 2.10's oneDNN 3.7.1 gave wrong convolutions
    /// whenever it reordered activations into 16-channel (AVX2: 8-channel) blocks whose channel count was not a multiple
    /// of the block: the padding carried garbage, so the forward pass went wrong when the input channels were padded
    /// and backward-data when the output channels were (8 → 4 channels: wrong in a few percent of calls; 24 → 40 or
    /// 32 → 8: in every call), while weight gradients and every channels-last convolution were exact; on other hosts of
    /// the same CPU model and on the AVX2 machine before them all were exact, and PyTorch 2.14's oneDNN 3.12 is exact on
    /// the bad host. GenSharp therefore runs oneDNN with channels-last weights (<see cref="ConvolutionLayout"/>), which
    /// takes libtorch to the unpadded <c>acdb</c> path, and <see cref="OneDnnCheck"/> compares that path with the native
    /// one on the shapes that failed; its verdict is cached per CPU. Native convolutions are 2–3× slower.
    /// </summary>
    static void ConfigureOneDnn()
    {
        var forced = Environment.GetEnvironmentVariable(OneDnnVariable);
        if (forced is "1" or "0" or "blocked")
        {
            SetOneDnnConvolutions(forced != "0");
            OneDnnChannelsLast = forced == "1";
            OneDnnReason = $"{OneDnnVariable}={forced}" + (forced == "1" ? ", channels-last weights" : "");
            return;
        }
        if (!Native.UserEnabledMkldnn(Native.GlobalContext())) { SetOneDnnConvolutions(false); OneDnnReason = "libtorch built without oneDNN"; return; }
        var verdict = OneDnnCheck.CachedOrRun();
        SetOneDnnConvolutions(verdict.Agrees);
        OneDnnReason = (verdict.Agrees ? "channels-last weights; machine check passed: " : "machine check failed, native convolutions: ") + verdict.Detail;
    }

    /// <summary>Environment variable that, set to 0, leaves MKL's vendor check alone (see <see cref="ConfigureMklDispatch"/>).</summary>
    public const string MklAnyVendorVariable = "GENSHARP_MKL_ANY_VENDOR";

    /// <summary>How MKL (libtorch's BLAS for float32 matmul and linear layers) chooses its kernels in this process.</summary>
    public static string MklDispatch { get; private set; } = "MKL's own choice";

    /// <summary>Whether MKL runs the kernels it runs on Intel CPUs (an Intel CPU, or <see cref="ConfigureMklDispatch"/> made it so).</summary>
    public static bool MklIntelKernels { get; private set; }

    /// <summary>
    /// Lets MKL choose its kernels by the CPU's instruction sets on every vendor. libtorch's bundled MKL asks whether the
    /// CPU is a GenuineIntel one (<c>mkl_serv_intel_cpu_true</c>) and, if not, keeps to its AVX2-era code even when the
    /// CPU has AVX-512: measured on this project's AMD EPYC (Zen 5), float32 GEMM ran at 117 GFLOP/s per core against
    /// 272 with the AVX-512 kernels, and the VAE trained ~20 % slower than PyTorch 2.14 over OpenBLAS. The answer is
    /// cached in a static of libtorch_cpu.so that starts at -1 ("not asked yet"); before MKL's first call this sets it to
    /// 1, so MKL then picks kernels from CPUID's feature bits as on an Intel CPU. The function's code is checked first
    /// (load cached static, test, branch if negative); anything else leaves MKL alone. x86-64 Linux only;
    /// <see cref="MklAnyVendorVariable"/>=0 opts out. Matrix products are held to float64 results in
    /// <c>MklDispatchTests</c>.
    /// </summary>
    static void ConfigureMklDispatch()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        if (Environment.GetEnvironmentVariable(MklAnyVendorVariable) == "0") { MklDispatch = $"MKL's own vendor check ({MklAnyVendorVariable}=0)"; return; }
        try
        {
            IntPtr lib = LibDl.Open("libtorch_cpu.so", LibDl.Now | LibDl.NoLoad);
            if (lib == IntPtr.Zero) return;
            IntPtr fn = LibDl.Symbol(lib, "mkl_serv_intel_cpu_true");
            if (fn == IntPtr.Zero) { MklDispatch = "MKL's own choice (libtorch_cpu.so has no mkl_serv_intel_cpu_true)"; return; }
            // mov disp32(%rip),%eax ; test %eax,%eax ; js
            bool shape = Marshal.ReadByte(fn, 0) == 0x8B && Marshal.ReadByte(fn, 1) == 0x05
                      && Marshal.ReadByte(fn, 6) == 0x85 && Marshal.ReadByte(fn, 7) == 0xC0 && Marshal.ReadByte(fn, 8) == 0x78;
            if (!shape) { MklDispatch = "MKL's own choice (unrecognised mkl_serv_intel_cpu_true)"; return; }
            IntPtr cached = fn + 6 + Marshal.ReadInt32(fn, 2);
            int value = Marshal.ReadInt32(cached);
            if (value > 0) { MklDispatch = "by CPU features (an Intel CPU)"; MklIntelKernels = true; return; }
            if (value == 0) { MklDispatch = "MKL's own choice (MKL had already checked the vendor)"; return; }
            Marshal.WriteInt32(cached, 1);
            MklDispatch = "by CPU features on any vendor";
            MklIntelKernels = true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    static class LibDl
    {
        internal const int Now = 2, NoLoad = 4;

        [DllImport("libc.so.6", EntryPoint = "dlopen")]
        internal static extern IntPtr Open(string file, int flags);

        [DllImport("libc.so.6", EntryPoint = "dlsym")]
        internal static extern IntPtr Symbol(IntPtr handle, string name);
    }

    static class Native
    {
        [DllImport("libtorch_cpu.so", EntryPoint = "_ZN2at13globalContextEv")]
        internal static extern IntPtr GlobalContext();

        [DllImport("libtorch_cpu.so", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
        internal static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport("libtorch_cpu.so", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
        internal static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        [DllImport("libtorch_cpu.so", EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
        [return: MarshalAs(UnmanagedType.U1)]
        internal static extern bool UserEnabledMkldnn(IntPtr context);
    }

    /// <summary>Environment variable that, set to 0, leaves glibc malloc's defaults alone.</summary>
    public const string AllocatorTuningVariable = "GENSHARP_MALLOC_TUNING";

    /// <summary>The mmap threshold <see cref="TuneNativeAllocator"/> sets (glibc's maximum).</summary>
    const int TunedMmapThreshold = 32 << 20;

    /// <summary>Whether <see cref="TuneNativeAllocator"/> changed the allocator settings in this process.</summary>
    public static bool AllocatorTuned { get; private set; }

    /// <summary>
    /// Keeps glibc malloc from handing tensor buffers back to the kernel after every step. By
    /// default glibc serves blocks above a (dynamic) threshold with fresh mmap pages and trims
    /// the heap top when memory is freed, so a training step that allocates and frees the same
    /// few-MB activations each time page-faults on all of them again: measured on this project's
    /// 2-core VM, Glow spends a third of its step in page faults (47k minor faults per step), and
    /// PyTorch in the same process conditions does the same. Raising the mmap threshold to its
    /// 32 MiB maximum and the trim threshold to 1 GiB lets freed blocks be reused; resident memory
    /// then stays at the working set's high-water mark instead of breathing, and it still stays
    /// flat over training. The same settings are what MALLOC_MMAP_THRESHOLD_ /
    /// MALLOC_TRIM_THRESHOLD_ give any glibc program (bench/common.sh gives them to PyTorch).
    /// Linux with glibc only; elsewhere, or with GENSHARP_MALLOC_TUNING=0, nothing changes.
    /// </summary>
    public static void TuneNativeAllocator()
    {
        if (AllocatorTuned || !OperatingSystem.IsLinux()) return;
        if (Environment.GetEnvironmentVariable(AllocatorTuningVariable) == "0") return;
        try
        {
            bool ok = LibC.Mallopt(LibC.MmapThreshold, TunedMmapThreshold) == 1;
            ok &= LibC.Mallopt(LibC.TrimThreshold, 1 << 30) == 1;
            AllocatorTuned = ok;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc (e.g. musl): keep that allocator's behaviour
        }
    }

    /// <summary>
    /// While the returned scope lives, glibc serves blocks of 128 KiB and more with mappings of their own, which go back to
    /// the kernel when freed; disposing it restores <see cref="TuneNativeAllocator"/>'s 32 MiB. For one-off phases that
    /// interleave long-lived buffers with large temporaries (loading and packing a quantized model): in the heap, the
    /// temporaries' freed space ends up between the kept buffers, and the steps that follow touch those holes page by page.
    /// Measured on a 135M int8 model: resident memory then grew 392 → 450 MB over a short generation, of which ~12 MB was
    /// memory in use (docs/benchmarks.md). glibc still fills a block from free heap space first, so in a process whose heap
    /// already holds large free chunks the scope changes little. The setting is process-wide: of overlapping scopes, the
    /// first disposed restores it. Does nothing unless the allocator was tuned (glibc's own threshold is dynamic and could
    /// not be put back); null then.
    /// </summary>
    public static IDisposable? MapLargeAllocations()
    {
        if (!AllocatorTuned) return null;
        LibC.Mallopt(LibC.MmapThreshold, 128 << 10);
        return new Restore(() => LibC.Mallopt(LibC.MmapThreshold, TunedMmapThreshold));
    }

    /// <summary>
    /// Caps glibc malloc at <paramref name="arenas"/> arenas for a long-running, many-threaded process (the server). glibc
    /// gives threads that allocate at the same time arenas of their own, up to 8 per core, and memory freed in one arena
    /// is not reused by another: a server whose request threads, decoder thread and libtorch workers all allocate keeps
    /// growing new arenas for minutes. Measured on this project's 2-core VM under 16 streaming clients for 10 minutes:
    /// resident memory rose 5.7 % after the 2-minute mark with glibc's default, 0.1 % with 2 arenas (docs/benchmarks.md).
    /// Call before the threads start. Linux with glibc only; GENSHARP_MALLOC_TUNING=0 leaves it alone.
    /// </summary>
    public static void LimitMallocArenas(int arenas)
    {
        if (arenas < 1) throw new ArgumentOutOfRangeException(nameof(arenas), arenas, "at least 1 arena");
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(AllocatorTuningVariable) == "0") return;
        try
        {
            LibC.Mallopt(LibC.ArenaMax, arenas);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc
        }
    }

    /// <summary>
    /// Hands the free memory of glibc's heap back to the kernel (malloc_trim). With <see cref="TuneNativeAllocator"/>'s
    /// settings freed blocks below 32 MiB stay resident for reuse; after a one-off phase that frees much more than the
    /// steady state needs (building a float network and replacing its layers by quantized ones) they would stay resident
    /// for the life of the process. Linux with glibc only; elsewhere nothing happens.
    /// </summary>
    public static void ReturnFreeMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { LibC.MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    static class LibC
    {
        [DllImport("libc.so.6", EntryPoint = "mallopt")]
        internal static extern int Mallopt(int parameter, int value);

        internal const int TrimThreshold = -1, MmapThreshold = -3, ArenaMax = -8;   // glibc's M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX

        [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
        internal static extern int MallocTrim(nuint pad);
    }

    /// <summary>
    /// Frees native tensor memory held only by unreachable managed handles. Measured with
    /// TorchSharp 0.107: reading a scalar (item) from a tensor of a training step's autograd graph
    /// leaves a handle outside the dispose scope that keeps ~3 MB per read of the step's activations
    /// alive until the finaliser runs; with a small managed heap the GC rarely runs, so resident
    /// memory climbs by GBs before it does. A collection every few steps costs about a
    /// millisecond and keeps memory flat. Training loops call this; see docs/benchmarks.md.
    /// </summary>
    public static void ReleaseUnreachableTensors()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Parses a device name ("cpu", "cuda", "cuda:1"), checking it is available.</summary>
    public static Device ParseDevice(string name)
    {
        EnsureReady();
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return torch.CPU;
        if (n == "cuda" || n.StartsWith("cuda:"))
        {
            if (!torch.cuda.is_available())
                throw new ParameterException("device", $"{name}: CUDA is not available in this build (install a libtorch-cuda package and run on a machine with a GPU); use cpu");
            int index = 0;
            if (n.Length > 5 && !int.TryParse(n[5..], out index))
                throw new ParameterException("device", $"{name}: expected cuda or cuda:N");
            return torch.device(DeviceType.CUDA, index);
        }
        throw new ParameterException("device", $"{name}: expected cpu, cuda or cuda:N");
    }

    /// <summary>Seeds libtorch's generator (and thereby every torch random op) for repeatable runs.</summary>
    public static void Seed(long seed)
    {
        EnsureReady();
        torch.manual_seed(seed);
        if (torch.cuda.is_available()) torch.cuda.manual_seed_all(seed);
    }

    /// <summary>Sets the intra-op thread count (0 leaves libtorch's default).</summary>
    public static void SetThreads(int threads)
    {
        EnsureReady();
        if (threads > 0) torch.set_num_threads(threads);
    }

    /// <summary>
    /// Runs the libtorch kernels the calling thread starts on that thread alone until the result is disposed, leaving every
    /// other thread's count as it is: libtorch's CPU parallelism is OpenMP's, whose thread count is a per-thread setting
    /// (<c>omp_set_num_threads</c>), whereas <c>torch.set_num_threads</c> also changes the count that threads starting
    /// later copy. For work made of many small kernels that each wake the other threads and wait for them: a one-token
    /// step of a model with int8 or int4 weights spends more time in that handshake (~10 µs per FBGEMM product of a
    /// 576-wide layer on 2 cores, docs/benchmarks.md) than the second thread saves. Dispose it on the same thread (it
    /// restores the count of the thread that disposes). Null (nothing to undo) when the thread already runs alone or
    /// libtorch's OpenMP cannot be reached.
    /// </summary>
    public static IDisposable? OneThreadHere()
    {
        if (OpenMp.SetThreads is not { } set) return null;
        // torch's count, not OpenMP's: reading it first runs libtorch's once-per-thread setup, which would otherwise run
        // inside the section at the thread's first parallel kernel and put back the process-wide count
        int before = torch.get_num_threads();
        if (before <= 1) return null;
        set(1);
        return new Restore(() => set(before));
    }

    sealed class Restore(Action undo) : IDisposable
    {
        Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }

    /// <summary>libtorch's OpenMP runtime (a dependency of libtorch_cpu.so, found through it): sets the calling thread's thread count.</summary>
    static class OpenMp
    {
        delegate void SetNumThreads(int n);

        internal static readonly Action<int>? SetThreads = Find();

        static Action<int>? Find()
        {
            if (!OperatingSystem.IsLinux()) return null;
            try
            {
                EnsureReady();
                IntPtr lib = LibDl.Open("libtorch_cpu.so", LibDl.Now | LibDl.NoLoad);
                if (lib == IntPtr.Zero) return null;
                IntPtr set = LibDl.Symbol(lib, "omp_set_num_threads");
                if (set == IntPtr.Zero) return null;
                var s = Marshal.GetDelegateForFunctionPointer<SetNumThreads>(set);
                return n => s(n);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        }
    }

    /// <summary>GenSharp's assembly version.</summary>
    public static string GenSharpVersion =>
        typeof(TorchRuntime).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? typeof(TorchRuntime).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>TorchSharp's assembly version.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";
}
