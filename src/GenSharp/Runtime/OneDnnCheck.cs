using System.Security.Cryptography;
using System.Text;

namespace GenSharp.Runtime;

/// <summary>
/// Decides, once per machine, whether libtorch's oneDNN (mkldnn) convolutions, run as GenSharp runs them (channels-last
/// weights, <see cref="ConvolutionLayout"/>, and on-block convolutions left in the default layout where a model asks),
/// compute what libtorch's native im2col + GEMM path does. Every probe runs a
/// convolution forward and backward (output, input gradient, weight gradient) both ways and compares: conv2d with
/// channel counts that are not multiples of oneDNN's 16-channel block (where libtorch 2.10's blocked path was wrong on
/// one host, see <see cref="TorchRuntime"/>), a dilated causal conv1d (WaveNet), a strided transposed conv2d (DCGAN,
/// VAE decoders) and a conv3d (video). The verdict is cached under <c>~/.cache/gensharp</c>, keyed by the CPU (model,
/// family, stepping, microcode, flags) and the libtorch version, so a process pays for it (about a second) once per
/// machine.
/// </summary>
public static class OneDnnCheck
{
    /// <summary>How many times each probe runs; the blocked path's defect hit some shapes in a few percent of calls.</summary>
    public const int DefaultRepeats = 40;

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
            var gen = new torch.Generator(20261206);
            foreach (var probe in Probes)
            {
                for (int r = 0; r < repeats; r++)
                {
                    using var step = torch.NewDisposeScope();
                    var x = torch.randn(probe.Input, generator: gen);
                    var w = torch.randn(probe.Weight, generator: gen);
                    TorchRuntime.SetOneDnnConvolutions(false);
                    var dy = torch.randn(Compute(probe.Kind, x, w, null).shape, generator: gen);
                    var reference = Compute(probe.Kind, x, w, dy);
                    Tensor tested;
                    if (candidate is not null) tested = candidate(probe.Kind, x, w, dy);
                    else
                    {
                        TorchRuntime.SetOneDnnConvolutions(true);
                        tested = Compute(probe.Kind, x, w, dy);
                    }
                    string what = $"{probe.Kind} {string.Join("×", probe.Input)} → {probe.Weight[probe.Kind == ProbeKind.ConvTranspose2d ? 1 : 0]} channels";
                    if (!tested.isfinite().all().item<bool>())
                        return new Verdict(false, $"{what}: non-finite values in call {r + 1} of {repeats}");
                    double diff = (tested - reference).abs().max().item<float>();
                    double scale = Math.Max(1.0, reference.abs().max().item<float>());
                    if (diff > 1e-4 * scale)
                        return new Verdict(false, $"{what}: differs from the native path by {diff:g3} in call {r + 1} of {repeats}");
                }
            }
            return new Verdict(true, $"{Probes.Length} probes × {repeats} calls agree");
        }
        finally { TorchRuntime.SetOneDnnConvolutions(was); }
    }

    /// <summary>The convolutions compared.</summary>
    public enum ProbeKind { Conv2d, OneChannelConv2d, DilatedConv1d, ConvTranspose2d, Conv3d, BlockedConv2d }

    sealed record Probe(ProbeKind Kind, long[] Input, long[] Weight);

    // Channel counts off oneDNN's 16-channel block on both sides (the blocked path's failures), a glow coupling's last
    // convolution, a classifier block, a grayscale first layer whose input needs a gradient (Langevin, a GAN's D), wavenet's layers, a DCGAN up-sampling, a video block.
    static readonly Probe[] Probes =
    {
        new(ProbeKind.Conv2d, new long[] { 8, 8, 14, 14 }, new long[] { 4, 8, 3, 3 }),
        new(ProbeKind.Conv2d, new long[] { 8, 24, 14, 14 }, new long[] { 40, 24, 3, 3 }),
        new(ProbeKind.Conv2d, new long[] { 16, 32, 7, 7 }, new long[] { 64, 32, 3, 3 }),
        new(ProbeKind.OneChannelConv2d, new long[] { 4, 1, 28, 28 }, new long[] { 4, 1, 3, 3 }),
        new(ProbeKind.DilatedConv1d, new long[] { 4, 32, 512 }, new long[] { 64, 32, 2 }),
        new(ProbeKind.ConvTranspose2d, new long[] { 8, 24, 7, 7 }, new long[] { 24, 12, 4, 4 }),
        new(ProbeKind.Conv3d, new long[] { 2, 12, 4, 8, 8 }, new long[] { 20, 12, 3, 3, 3 }),
        // On-block convolutions in libtorch's default layout, as ConvolutionLayout.Prepare(blockedOnBlock) leaves them (ddpm's UNet).
        new(ProbeKind.BlockedConv2d, new long[] { 8, 32, 14, 14 }, new long[] { 64, 32, 3, 3 }),
        new(ProbeKind.BlockedConv2d, new long[] { 8, 96, 7, 7 }, new long[] { 32, 96, 3, 3 }),
    };

    /// <summary>
    /// One probe's convolution as GenSharp runs it under oneDNN (the weight channels-last), with libtorch's current
    /// oneDNN setting: the output when <paramref name="dy"/> is null, else the output, input gradient and weight
    /// gradient for the upstream gradient <paramref name="dy"/>, flattened into one vector.
    /// </summary>
    public static Tensor Compute(ProbeKind kind, Tensor x, Tensor w, Tensor? dy)
    {
        var xg = x.detach().requires_grad_(dy is not null);
        var wg = (kind == ProbeKind.BlockedConv2d ? w.detach().contiguous() : ConvolutionLayout.ToChannelsLast(w.detach())).requires_grad_(dy is not null);
        var y = kind switch
        {
            ProbeKind.Conv2d or ProbeKind.BlockedConv2d => nn.functional.conv2d(xg, wg, padding: new long[] { 1, 1 }),
            // A one-channel input as ConvolutionLayout.OneChannel convolves it when the input needs a gradient.
            ProbeKind.OneChannelConv2d => nn.functional.conv2d(torch.cat(new[] { xg, torch.zeros_like(xg) }, 1),
                ConvolutionLayout.ToChannelsLast(torch.cat(new[] { wg, torch.zeros_like(wg) }, 1)), padding: new long[] { 1, 1 }),
            ProbeKind.DilatedConv1d => nn.functional.conv1d(xg, wg, dilation: 8),
            ProbeKind.ConvTranspose2d => nn.functional.conv_transpose2d(xg, wg, strides: new long[] { 2, 2 }, padding: new long[] { 1, 1 }),
            _ => nn.functional.conv3d(xg, wg, padding: new long[] { 1, 1, 1 }),
        };
        if (dy is null) return y.detach();
        var g = torch.autograd.grad(new[] { y }, new[] { xg, wg }, new[] { dy });
        return torch.cat(new[] { y.detach().flatten(), g[0].flatten(), g[1].flatten() });
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
        var key = new StringBuilder($"libtorch {TorchRuntime.LibTorchVersion}; check v3");
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
