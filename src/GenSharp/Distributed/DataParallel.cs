using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp.Modules;

namespace GenSharp.Distributed;

/// <summary>
/// Data-parallel training over an <see cref="MpiCommunicator"/>, the Horovod recipe: every rank holds the whole model,
/// rank 0's initial weights are broadcast, each rank takes its own rows of every (global) batch, and before every
/// optimizer step the gradients are flattened into buckets, summed over the ranks with one all-reduce per bucket and
/// divided by the number of ranks — so the update is the one a single process would make on the whole batch.
/// The <see cref="Training.Trainer"/> and <see cref="Training.StepRunner"/> call it; families never see it.
/// </summary>
public sealed class DataParallel
{
    readonly MpiCommunicator _comm;
    readonly long _bucketElements;
    readonly Stopwatch _syncClock = new();
    readonly Stopwatch _mpiClock = new();
    readonly Stopwatch _gradientMpiClock = new();

    /// <param name="comm">This process's MPI communicator.</param>
    /// <param name="bucketElements">Gradient elements per all-reduce (default 4 Mi floats, 16 MB): fewer, larger messages
    /// amortise MPI's per-message latency, smaller ones bound the staging memory.</param>
    public DataParallel(MpiCommunicator comm, long bucketElements = 1 << 22)
    {
        ArgumentNullException.ThrowIfNull(comm);
        if (bucketElements < 1) throw new ArgumentOutOfRangeException(nameof(bucketElements));
        _comm = comm;
        _bucketElements = bucketElements;
    }

    /// <summary>This process's rank.</summary>
    public int Rank => _comm.Rank;

    /// <summary>Number of ranks.</summary>
    public int Size => _comm.Size;

    /// <summary>Only rank 0 writes checkpoints, metrics, plots and samples, and shows progress.</summary>
    public bool IsWriter => _comm.Rank == 0;

    /// <summary>Seconds spent averaging gradients (packing, all-reduce, unpacking) so far.</summary>
    public double GradientSyncSeconds => _syncClock.Elapsed.TotalSeconds;

    /// <summary>Seconds spent inside MPI calls (all-reduce and broadcast) so far.</summary>
    public double MpiSeconds => _mpiClock.Elapsed.TotalSeconds;

    /// <summary>Seconds spent inside the gradients' all-reduce calls so far (bytes / this = the all-reduce's bus-free bandwidth).</summary>
    public double GradientAllreduceSeconds => _gradientMpiClock.Elapsed.TotalSeconds;

    /// <summary>Gradient bytes this rank all-reduced so far.</summary>
    public long BytesReduced { get; private set; }

    /// <summary>All-reduce calls made for gradients so far.</summary>
    public long Reductions { get; private set; }

    /// <summary>The global batch must split evenly over the ranks.</summary>
    /// <exception cref="ParameterException">It does not.</exception>
    public void CheckBatchSize(int batch)
    {
        if (batch % Size != 0)
            throw new ParameterException("batch_size", $"{batch} must be a multiple of the {Size} ranks (each rank takes an equal share of every batch); use {Math.Max(Size, batch / Size * Size)} or {(batch / Size + 1) * Size}");
    }

    /// <summary>This rank's rows of a global batch: rows [rank·B/N, (rank+1)·B/N) of inputs and targets.</summary>
    public (Tensor Inputs, Tensor Targets) Shard(Tensor inputs, Tensor targets)
    {
        long b = inputs.shape[0];
        long share = b / Size;
        if (Size == 1) return (inputs, targets);
        return (inputs.narrow(0, Rank * share, share), targets.narrow(0, Rank * share, share));
    }

    /// <summary>
    /// The libtorch seed of this rank for step <paramref name="step"/> of a run seeded <paramref name="seed"/>: different
    /// on every rank (so ranks draw different noise), a pure function of (seed, rank, step) (so a run repeats, and a
    /// resumed run, with any number of ranks, draws what it would have drawn).
    /// </summary>
    public long SeedFor(long seed, long step) => SeedFor(seed, Rank, step);

    /// <summary>The libtorch seed of rank <paramref name="rank"/> for step <paramref name="step"/> (see the instance method).</summary>
    public static long SeedFor(long seed, int rank, long step) => (long)(Mix(Mix(Mix((ulong)seed) ^ (ulong)rank) ^ (ulong)step) & long.MaxValue);

    static ulong Mix(ulong z)
    {
        // SplitMix64's finaliser: nearby inputs give unrelated outputs.
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Copies rank 0's parameters and buffers into every rank's <paramref name="module"/> (same architecture everywhere).</summary>
    public void BroadcastModule(nn.Module module)
    {
        using var _ = torch.no_grad();
        foreach (var (_, t) in module.state_dict())
        {
            using var scope = torch.NewDisposeScope();
            bool direct = t.device_type == DeviceType.CPU && t.is_contiguous();
            var staging = direct ? t : t.contiguous().cpu();
            Timed(() => _comm.Broadcast(staging.bytes));
            if (!direct) t.copy_(staging);
        }
    }

    /// <summary>
    /// Replaces every gradient of <paramref name="parameters"/> by its mean over the ranks. Parameters are taken in
    /// order (the same on every rank), float32 and float64 apart, packed into buckets of at most the bucket size; a
    /// parameter without a gradient on this rank contributes zeros.
    /// </summary>
    public void AverageGradients(IEnumerable<Parameter> parameters)
    {
        if (Size == 1) return;
        _syncClock.Start();
        try
        {
            using var _ = torch.no_grad();
            var all = parameters.Where(p => p.requires_grad).ToList();
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
            {
                var bucket = new List<Parameter>();
                long elements = 0;
                foreach (var p in all.Where(p => p.dtype == dtype))
                {
                    if (bucket.Count > 0 && elements + p.numel() > _bucketElements)
                    {
                        Reduce(bucket, dtype);
                        bucket.Clear();
                        elements = 0;
                    }
                    bucket.Add(p);
                    elements += p.numel();
                }
                if (bucket.Count > 0) Reduce(bucket, dtype);
            }
            var other = all.FirstOrDefault(p => p.dtype is not (ScalarType.Float32 or ScalarType.Float64));
            if (other is not null)
                throw new GenSharpException($"distributed training averages float32 and float64 gradients, not {other.dtype}; train in float32");
        }
        finally
        {
            _syncClock.Stop();
        }
    }

    void Reduce(List<Parameter> bucket, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var grads = bucket.Select(p => p.grad).ToArray();
        // (Σ numel) one flat CPU buffer: MPI reads host memory.
        var flat = torch.cat(bucket.Select((p, i) => (grads[i] ?? torch.zeros_like(p)).reshape(-1).cpu()).ToArray());
        _gradientMpiClock.Start();
        try
        {
            if (dtype == ScalarType.Float32) Timed(() => _comm.SumInPlace(MemoryMarshal.Cast<byte, float>(flat.bytes)));
            else Timed(() => _comm.SumInPlace(MemoryMarshal.Cast<byte, double>(flat.bytes)));
        }
        finally
        {
            _gradientMpiClock.Stop();
        }
        flat.div_(Size);
        BytesReduced += flat.numel() * flat.element_size();
        Reductions++;
        long offset = 0;
        for (int i = 0; i < bucket.Count; i++)
        {
            long n = bucket[i].numel();
            grads[i]?.copy_(flat.narrow(0, offset, n).view(bucket[i].shape));
            offset += n;
        }
    }

    /// <summary>The mean of <paramref name="value"/> over the ranks (NaN/Inf anywhere make it non-finite everywhere).</summary>
    public double Average(double value)
    {
        Span<double> v = stackalloc double[] { value };
        Timed(v, static (c, s) => c.SumInPlace(s));
        return v[0] / Size;
    }

    /// <summary>Replaces each value by its mean over the ranks; every rank must pass the same keys in the same order.</summary>
    public void Average(Dictionary<string, double> metrics)
    {
        if (Size == 1 || metrics.Count == 0) return;
        var keys = metrics.Keys.ToArray();
        var v = keys.Select(k => metrics[k]).ToArray();
        Timed(() => _comm.SumInPlace(v));
        for (int i = 0; i < keys.Length; i++) metrics[keys[i]] = v[i] / Size;
    }

    /// <summary>True on every rank when <paramref name="flag"/> is true on any (a stop request seen by one rank stops all at the same step).</summary>
    public bool Any(bool flag)
    {
        Span<double> v = stackalloc double[] { flag ? 1 : 0 };
        Timed(v, static (c, s) => c.MaxInPlace(s));
        return v[0] > 0;
    }

    delegate void SpanCall(MpiCommunicator comm, Span<double> values);

    void Timed(Span<double> values, SpanCall call)
    {
        _mpiClock.Start();
        try { call(_comm, values); }
        finally { _mpiClock.Stop(); }
    }

    void Timed(Action call)
    {
        _mpiClock.Start();
        try { call(); }
        finally { _mpiClock.Stop(); }
    }
}
