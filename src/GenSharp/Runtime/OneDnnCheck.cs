using System.Security.Cryptography;
using System.Text;

namespace GenSharp.Runtime;

/// <summary>
/// Decides, once per machine, whether libtorch's oneDNN (mkldnn) convolutions compute the same results as libtorch's
/// native im2col + GEMM path. On one AMD EPYC (Zen 4, AVX-512) with libtorch 2.10.0, oneDNN's conv2d backward-data pass
/// left blocks of the input gradient unwritten in a few percent of calls and a dilated conv1d forward gave NaN now and
/// then; on other machines (AVX2; Zen 5) the same calls are exact and oneDNN trains convolutional families 2–3.5× faster.
/// The check runs those calls many times both ways and compares; its verdict is cached under
/// <c>~/.cache/gensharp</c>, keyed by the CPU (model, family, stepping, microcode, flags) and the libtorch version, so a
/// process pays for it once per machine (about a second).
/// </summary>
public static class OneDnnCheck
{
    /// <summary>How many times each probe convolution runs; the defect hit a few percent of calls.</summary>
    public const int DefaultRepeats = 120;

    /// <summary>One probe's outcome.</summary>
    public sealed record Verdict(bool Agrees, string Detail);

    /// <summary>
    /// Runs every probe with oneDNN on and off (the caller's flag is restored) and reports the first disagreement.
    /// <paramref name="candidate"/> replaces the oneDNN side, so a test can show the check catches a wrong kernel.
    /// </summary>
    public static Verdict Run(int repeats = DefaultRepeats, Func<ProbeKind, Tensor, Tensor, Tensor, Tensor>? candidate = null)
    {
        bool was = TorchRuntime.OneDnnConvolutions;
        try
        {
            using var _ = torch.NewDisposeScope();
            var gen = new torch.Generator(20261205);
            foreach (var probe in Probes)
            {
                for (int r = 0; r < repeats; r++)
                {
                    using var step = torch.NewDisposeScope();
                    var x = torch.randn(probe.Input, generator: gen);
                    var w = torch.randn(probe.Weight, generator: gen);
                    var dy = torch.randn(probe.Output, generator: gen);
                    TorchRuntime.SetOneDnnConvolutions(false);
                    var reference = Compute(probe.Kind, x, w, dy, probe.Dilation);
                    Tensor tested;
                    if (candidate is not null) tested = candidate(probe.Kind, x, w, dy);
                    else
                    {
                        TorchRuntime.SetOneDnnConvolutions(true);
                        tested = Compute(probe.Kind, x, w, dy, probe.Dilation);
                    }
                    if (!tested.isfinite().all().item<bool>())
                        return new Verdict(false, $"{probe.Kind}: non-finite values in call {r + 1} of {repeats}");
                    double diff = (tested - reference).abs().max().item<float>();
                    double scale = Math.Max(1.0, reference.abs().max().item<float>());
                    if (diff > 1e-4 * scale)
                        return new Verdict(false, $"{probe.Kind}: differs from the native path by {diff:g3} in call {r + 1} of {repeats}");
                }
            }
            return new Verdict(true, $"{Probes.Length} probes × {repeats} calls agree");
        }
        finally { TorchRuntime.SetOneDnnConvolutions(was); }
    }

    /// <summary>The computations compared: conv2d's input gradient (backward-data) and a dilated conv1d forward.</summary>
    public enum ProbeKind { Conv2dInputGradient, DilatedConv1d }

    sealed record Probe(ProbeKind Kind, long[] Input, long[] Weight, long[] Output, long Dilation);

    // The shapes where the defect was seen: a glow coupling's last convolution, a classifier block, wavenet's layers.
    static readonly Probe[] Probes =
    {
        new(ProbeKind.Conv2dInputGradient, new long[] { 8, 8, 14, 14 }, new long[] { 4, 8, 3, 3 }, new long[] { 8, 4, 14, 14 }, 1),
        new(ProbeKind.Conv2dInputGradient, new long[] { 16, 32, 7, 7 }, new long[] { 64, 32, 3, 3 }, new long[] { 16, 64, 7, 7 }, 1),
        new(ProbeKind.DilatedConv1d, new long[] { 4, 32, 512 }, new long[] { 64, 32, 2 }, new long[] { 4, 64, 512 - 8 }, 8),
    };

    static Tensor Compute(ProbeKind kind, Tensor x, Tensor w, Tensor dy, long dilation)
    {
        if (kind == ProbeKind.DilatedConv1d)
        {
            using var noGrad = torch.no_grad();
            return nn.functional.conv1d(x, w, dilation: dilation);
        }
        var xg = x.detach().requires_grad_(true);
        var y = nn.functional.conv2d(xg, w, padding: new long[] { 1, 1 });
        return torch.autograd.grad(new[] { y }, new[] { xg }, new[] { dy })[0].detach();
    }

    /// <summary>
    /// The cached verdict for this machine, running the check when there is none. A cache that cannot be written only
    /// means the check runs again next time.
    /// </summary>
    public static Verdict CachedOrRun()
    {
        string? file = CacheFile();
        if (file is not null && File.Exists(file))
        {
            try
            {
                var lines = File.ReadAllLines(file);
                if (lines.Length >= 2 && (lines[0] == "agrees" || lines[0] == "differs"))
                    return new Verdict(lines[0] == "agrees", lines[1]);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var verdict = Run();
        if (file is not null)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                var tmp = file + "." + Environment.ProcessId + ".tmp";
                File.WriteAllLines(tmp, new[] { verdict.Agrees ? "agrees" : "differs", verdict.Detail, MachineKey() });
                File.Move(tmp, file, overwrite: true);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return verdict;
    }

    static string? CacheFile()
    {
        var root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home)) return null;
            root = Path.Combine(home, ".cache");
        }
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(MachineKey())))[..16].ToLowerInvariant();
        return Path.Combine(root, "gensharp", $"onednn-check-{hash}.txt");
    }

    /// <summary>What the verdict depends on: libtorch's version and the CPU as /proc/cpuinfo names it.</summary>
    internal static string MachineKey()
    {
        var key = new StringBuilder($"libtorch {TorchRuntime.LibTorchVersion}; check v1");
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var wanted = new[] { "vendor_id", "cpu family", "model", "model name", "stepping", "microcode", "flags" };
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.Trim().Length == 0) break;                         // the first processor is enough
                    int colon = line.IndexOf(':');
                    if (colon > 0 && wanted.Contains(line[..colon].Trim())) key.Append("; ").Append(line.Trim());
                }
            }
            else key.Append("; ").Append(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture);
        }
        catch (IOException) { }
        return key.ToString();
    }
}
