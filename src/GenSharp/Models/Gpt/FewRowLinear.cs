using GenSharp.Runtime;
using TorchSharp.Modules;

namespace GenSharp.Models.Gpt;

/// <summary>
/// A linear layer's product for inference on few rows (decoding: one token per sequence), where reading the weights from
/// memory is the whole cost. Two things make libtorch's CPU product slow there, and both are avoided with gradients off
/// and at most <see cref="MaxRows"/> rows:
/// <list type="bullet">
/// <item>x·Wᵀ for a handful of rows runs up to 2.4× slower than W·xᵀ (4 rows through SmolLM2-135M's 30 layers 112 → 46 ms;
/// from about 128 rows the two are even), so the product is taken the other way round;</item>
/// <item>with MKL's kernels for non-Intel CPUs a matrix–vector product runs on one thread whatever libtorch's thread count
/// (measured on this project's 2-core VM: 12–13 GB/s of weights on 1 or 2 threads), so W's rows are cut into one block
/// per thread and the blocks multiplied as one batched product, which libtorch spreads over its threads (21–26 GB/s on 2
/// threads, the same as a parallel <c>sum()</c> of the weights reaches; docs/benchmarks.md). With MKL's Intel kernels
/// (<see cref="TorchRuntime.MklIntelKernels"/>, on any vendor since GenSharp lets MKL choose by CPU features) the plain
/// product is the faster one and the rows stay whole: SmolLM2-135M decoding at depth 64/512/2048 on 2 threads,
/// 41/41/37 tokens/s with blocks against 58/68/57 without.</item>
/// </list>
/// Same values up to float rounding (each output is the same dot product).
/// </summary>
internal static class FewRowLinear
{
    /// <summary>Most rows (tokens × sequences) computed as W·xᵀ.</summary>
    public const long MaxRows = 64;

    /// <summary>Fewest weight rows per thread's block: below it one thread's product costs less than sharing it out.</summary>
    const long MinRowsPerBlock = 128;

    /// <summary>How many blocks a big weight's rows are cut into: one per thread, or 1 with MKL's Intel kernels.</summary>
    public static long ThreadBlocks => TorchRuntime.MklIntelKernels ? 1 : Math.Max(1, torch.get_num_threads());

    /// <summary><paramref name="layer"/>(x) for x (…, K).</summary>
    public static Tensor Forward(Linear layer, Tensor x) => Forward(x, layer.weight!, layer.bias);

    /// <summary>x (…, K) · <paramref name="weight"/> (N, K)ᵀ + <paramref name="bias"/> → (…, N).</summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias) => Forward(x, weight, bias, ThreadBlocks);

    /// <summary><see cref="Forward(Tensor, Tensor, Tensor?)"/> with the number of row blocks given (tests take each path).</summary>
    internal static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, long threadBlocks)
    {
        long k = x.shape[^1], rows = x.numel() / Math.Max(1, k);
        if (rows > MaxRows || torch.is_grad_enabled() || x.device_type != DeviceType.CPU)
            return nn.functional.linear(x, weight, bias);
        using var xt = x.reshape(rows, k).t();                                               // (K, rows)
        var y = Product(weight, xt, threadBlocks).t();                                                     // (rows, N)
        if (bias is not null) y = y + bias;
        var shape = x.shape.ToArray();
        shape[^1] = weight.shape[0];
        return y.reshape(shape);
    }

    /// <summary>W (N, K) · xt (K, rows) → (N, rows), in one block per thread when W is big enough to share out.</summary>
    static Tensor Product(Tensor weight, Tensor xt, long threadBlocks)
    {
        long n = weight.shape[0], k = weight.shape[1], rows = xt.shape[1];
        long blocks = Math.Min(threadBlocks, n / MinRowsPerBlock);
        if (blocks < 2 || !weight.is_contiguous()) return weight.mm(xt);
        long per = n / blocks, even = per * blocks;                                         // rows n - even (< blocks) are left over
        using var batched = weight.narrow(0, 0, even).view(blocks, per, k);                 // (S, N/S, K): a view, no copy
        using var shared = xt.unsqueeze(0).expand(blocks, k, rows);                          // (S, K, rows)
        var y = batched.bmm(shared).view(even, rows);                                        // (N', rows)
        if (even == n) return y;
        using var rest = weight.narrow(0, even, n - even).mm(xt);                            // the last few rows
        using (y) return torch.cat(new[] { y, rest }, 0);
    }
}
