#:project ../src/GenSharp/GenSharp.csproj
#:property Optimize=true
// Micro-benchmark of the low-bit matrix kernels libtorch offers on this CPU, one token (M = 1) at SmolLM2-135M's
// shapes: float32 W·xᵀ (what the float decoder runs), GenSharp's Int8Linear (FBGEMM) and Int4Linear (libtorch's int4
// kernel, bfloat16 activations), and libtorch's _weight_int8pack_mm and _weight_int4pack_mm_for_cpu on float32
// activations (the paths that are slow without AVX-512), plus the interop cost of one TorchScript call.
//
//   dotnet run -c Release bench/quant_kernels.cs [-- THREADS [ROWS]]     (defaults: 2 threads, 1 row)
//
// Prints microseconds per product (best of 3 rounds). Times on a shared machine vary by several times: libtorch's
// parallel kernels wait for every thread at the end of a product, and a thread the scheduler has parked costs a time
// slice (measured ~8 ms); compare with THREADS=1 when others use the cores.
using System.Diagnostics;
using GenSharp.Models.Quantization;
using GenSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

int threads = args.Length > 0 ? int.Parse(args[0]) : 2, rows = args.Length > 1 ? int.Parse(args[1]) : 1;
TorchRuntime.EnsureReady();
TorchRuntime.SetThreads(threads);
torch.set_grad_enabled(false);
var unit = torch.jit.compile("""
    def identity(x):
        return x

    def int8pack_mm(x, q, s):
        return torch._weight_int8pack_mm(x, q, s)

    def int4_pack(codes):
        return torch._convert_weight_to_int4pack_for_cpu(codes, 2)

    def int4pack_mm_f32(x, packed, scales_zeros):
        return torch._weight_int4pack_mm_for_cpu(x, packed, 32, scales_zeros)
    """ + "\n");                                                  // TorchScript wants the last line ended

double Time(Action step, int n)
{
    for (int i = 0; i < 3; i++) step();
    double best = double.MaxValue;
    for (int round = 0; round < 3; round++)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) step();
        best = Math.Min(best, clock.Elapsed.TotalMicroseconds / n);
    }
    return best;
}

var probe = torch.randn(1, 8);
Console.WriteLine($"threads {threads}, rows {rows}; one TorchScript call (identity): {Time(() => { using var s = NewDisposeScope(); unit.invoke("identity", probe); }, 2000):F1} µs");
Console.WriteLine($"{"N×K",-12}{"f32 W·xᵀ",12}{"Int8Linear",12}{"Int4Linear",12}{"int8pack_mm",13}{"int4pack f32",14}   (µs per product)");
foreach (var (n, k) in new[] { (576, 576), (192, 576), (1536, 576), (576, 1536), (49152, 576) })
{
    int reps = n > 10000 ? 5 : 50;
    var w = torch.randn(n, k) * 0.02;
    var x = torch.randn(1, rows, k);
    double f32 = Time(() => { using var s = NewDisposeScope(); w.mm(x.view(rows, k).t()); }, reps);
    var (q, scales) = WeightQuantizer.QuantizeInt8(w);
    using var int8 = new Int8Linear(q, scales, null);
    double i8 = Time(() => { using var s = NewDisposeScope(); int8.forward(x); }, reps);
    var (q4, s4, m4) = WeightQuantizer.QuantizeInt4(w, 32);
    using var int4 = new Int4Linear(q4, s4, m4, 32, null);
    double i4 = Time(() => { using var s = NewDisposeScope(); int4.forward(x); }, reps);
    double pack8 = Time(() => { using var s = NewDisposeScope(); unit.invoke("int8pack_mm", x.view(rows, k), q, scales); }, Math.Max(2, reps / 10));
    var packed4 = (Tensor)unit.invoke("int4_pack", WeightQuantizer.UnpackInt4(q4).contiguous());
    var sz = torch.stack(new[] { s4.t(), (m4 + 8 * s4).t() }, 2).contiguous();
    double pack4 = Time(() => { using var s = NewDisposeScope(); unit.invoke("int4pack_mm_f32", x.view(rows, k), packed4, sz); }, Math.Max(2, reps / 10));
    Console.WriteLine($"{$"{n}×{k}",-12}{f32,12:F0}{i8,12:F0}{i4,12:F0}{pack8,13:F0}{pack4,14:F0}");
}
