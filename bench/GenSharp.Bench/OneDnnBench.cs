// Which of libtorch's oneDNN convolution passes agree with the native im2col + GEMM path on this machine.
//
//   dotnet run -c Release --project bench/GenSharp.Bench -- onednn [--threads T] [--repeats R] [--channels-last] [--shape N,C,H,O[,K[,STRIDE]]]...
//
// For each shape it runs conv2d forward, backward-data and backward-weights both ways and prints how many calls of
// each pass differ (and where the bad input-gradient elements sit), so a defect can be pinned to one pass, kernel and
// shape. Set ONEDNN_MAX_CPU_ISA / ONEDNN_VERBOSE in the environment to see which oneDNN kernel a pass takes.
using System.Globalization;
using GenSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

static class OneDnnBench
{
    public static int Run(string[] args)
    {
        int threads = 2, repeats = 50;
        bool channelsLast = false, weightsLast = false;
        string? fill = null;
        var shapes = new List<long[]>();
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--channels-last": channelsLast = true; break;
                case "--weights-last": weightsLast = true; break;
                case "--fill": fill = args[++i]; break;
                case "--repeats": repeats = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--shape": shapes.Add(args[++i].Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray()); break;
                default: Console.Error.WriteLine($"onednn: unknown option {args[i]}"); return 2;
            }
        }
        if (shapes.Count == 0)
            shapes.AddRange(new[] { new long[] { 8, 8, 14, 4 }, new long[] { 16, 32, 7, 64 }, new long[] { 64, 64, 28, 64 }, new long[] { 64, 3, 32, 32 }, new long[] { 32, 128, 8, 128 } });
        TorchRuntime.EnsureReady();
        torch.set_num_threads(threads);
        if (fill is not null)
        {
            // c10's CPU allocator can zero-fill or junk-fill (NaN) every allocation: shows whether a wrong result reads
            // memory nobody wrote.
            IntPtr lib = Dl.dlopen("libc10.so", 2 | 4);
            IntPtr flag = Dl.dlsym(lib, fill == "zero" ? "FLAGS_caffe2_cpu_allocator_do_zero_fill" : "FLAGS_caffe2_cpu_allocator_do_junk_fill");
            if (flag == IntPtr.Zero) { Console.Error.WriteLine("onednn: libc10.so has no allocator fill flag"); return 2; }
            System.Runtime.InteropServices.Marshal.WriteByte(flag, 1);
        }
        bool was = TorchRuntime.OneDnnConvolutions;
        var gen = new torch.Generator(7);
        int failures = 0;
        foreach (var s in shapes)
        {
            long n = s[0], c = s[1], h = s[2], o = s[3], k = s.Length > 4 ? s[4] : 3, stride = s.Length > 5 ? s[5] : 1;
            int badY = 0, badX = 0, badW = 0;
            double worstY = 0, worstX = 0, worstW = 0;
            string where = "";
            for (int r = 0; r < repeats; r++)
            {
                using var scope = torch.NewDisposeScope();
                var x = torch.randn(new[] { n, c, h, h }, generator: gen);
                var w = torch.randn(new[] { o, c, k, k }, generator: gen);
                var dy = torch.randn(new[] { n, o, (h + 2 * (k / 2) - k) / stride + 1, (h + 2 * (k / 2) - k) / stride + 1 }, generator: gen);
                if (channelsLast) { x = ConvolutionLayout.ToChannelsLast(x); dy = ConvolutionLayout.ToChannelsLast(dy); }
                if (weightsLast) w = ConvolutionLayout.ToChannelsLast(w);
                var native = Passes(false, x, w, dy, k, stride);
                var onednn = Passes(true, x, w, dy, k, stride);
                bool Differs(Tensor a, Tensor b, ref double worst)
                {
                    if (!b.isfinite().all().item<bool>()) { worst = double.PositiveInfinity; return true; }
                    double rel = (a - b).abs().max().item<float>() / Math.Max(1.0, a.abs().max().item<float>());
                    worst = Math.Max(worst, rel);
                    return rel > 1e-4;
                }
                if (Differs(native[0], onednn[0], ref worstY)) badY++;
                if (Differs(native[2], onednn[2], ref worstW)) badW++;
                if (Differs(native[1], onednn[1], ref worstX))
                {
                    badX++;
                    if (where.Length == 0)
                    {
                        var mask = (native[1] - onednn[1]).abs().gt(1e-3 * Math.Max(1.0, native[1].abs().max().item<float>())).logical_or(onednn[1].isfinite().logical_not());
                        string Sum(long[] dims) => string.Join(",", mask.sum(dims).data<long>().ToArray());
                        where = $"  bad dx elements per sample [{Sum(new long[] { 1, 2, 3 })}] per channel [{Sum(new long[] { 0, 2, 3 })}] per row [{Sum(new long[] { 0, 1, 3 })}]";
                    }
                }
            }
            failures += badY + badX + badW;
            Console.WriteLine($"conv2d {n}x{c}x{h}x{h} -> {o} k{k} s{stride}: forward {badY}/{repeats} differ, backward-data {badX}/{repeats}, backward-weights {badW}/{repeats} (worst relative differences {worstY:g2}, {worstX:g2}, {worstW:g2})");
            if (where.Length > 0) Console.WriteLine(where);
        }
        TorchRuntime.SetOneDnnConvolutions(was);
        return failures == 0 ? 0 : 1;
    }

    static Tensor[] Passes(bool onednn, Tensor x, Tensor w, Tensor dy, long k, long stride)
    {
        TorchRuntime.SetOneDnnConvolutions(onednn);
        var xg = x.detach().requires_grad_(true);
        var wg = w.detach().requires_grad_(true);
        var y = nn.functional.conv2d(xg, wg, strides: new[] { stride, stride }, padding: new[] { k / 2, k / 2 });
        var g = torch.autograd.grad(new[] { y }, new[] { xg, wg }, new[] { dy });
        return new[] { y.detach(), g[0].detach(), g[1].detach() };
    }

    static class Dl
    {
        [System.Runtime.InteropServices.DllImport("libc.so.6")] internal static extern IntPtr dlopen(string file, int mode);
        [System.Runtime.InteropServices.DllImport("libc.so.6")] internal static extern IntPtr dlsym(IntPtr handle, string name);
    }
}
