using System.Runtime.InteropServices;
using System.Text;

namespace GenSharp.Distributed;

/// <summary>
/// This process's place in an MPI job (<c>MPI_COMM_WORLD</c>): its rank, the job's size, and the three collectives
/// data-parallel training uses — broadcast, sum all-reduce and max all-reduce — over OpenMPI through
/// <see cref="MpiNative"/>. One per process: MPI is initialised by <see cref="Initialize"/> and finalised by
/// <see cref="Dispose"/>. A failed collective throws <see cref="DistributedException"/> (errors are returned, not
/// fatal, so the trainer can say where the last checkpoint is).
/// </summary>
public sealed class MpiCommunicator : IDisposable
{
    static MpiCommunicator? _current;
    bool _disposed;

    MpiCommunicator(int rank, int size, string host)
    {
        Rank = rank;
        Size = size;
        Host = host;
    }

    /// <summary>0-based rank of this process.</summary>
    public int Rank { get; }

    /// <summary>Number of processes in the job.</summary>
    public int Size { get; }

    /// <summary>The processor (host) name MPI reports for this rank.</summary>
    public string Host { get; }

    /// <summary>True when this process was started by OpenMPI's <c>mpirun</c>/<c>mpiexec</c> (it sets <c>OMPI_COMM_WORLD_SIZE</c>).</summary>
    public static bool LaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;

    /// <summary>
    /// Initialises MPI (serialized threading: calls may come from any one thread at a time) and returns this
    /// process's communicator; a second call returns the same one.
    /// </summary>
    /// <exception cref="GenSharpException">OpenMPI is not installed, or MPI cannot start.</exception>
    public static MpiCommunicator Initialize()
    {
        if (_current is { _disposed: false }) return _current;
        if (!MpiNative.TryLoad(out var problem)) throw new GenSharpException(problem!);
        Check(MpiNative.MPI_Initialized(out int initialized), "MPI_Initialized");
        if (initialized == 0)
        {
            Check(MpiNative.MPI_Init_thread(IntPtr.Zero, IntPtr.Zero, MpiNative.ThreadSerialized, out int provided), "MPI_Init_thread");
            if (provided < MpiNative.ThreadSerialized)
                throw new GenSharpException($"this MPI library offers thread level {provided}; GenSharp needs MPI_THREAD_SERIALIZED (2)");
        }
        Check(MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
        Check(MpiNative.MPI_Comm_rank(MpiNative.CommWorld, out int rank), "MPI_Comm_rank");
        Check(MpiNative.MPI_Comm_size(MpiNative.CommWorld, out int size), "MPI_Comm_size");
        var name = new byte[256];
        Check(MpiNative.MPI_Get_processor_name(name, out int length), "MPI_Get_processor_name");
        _current = new MpiCommunicator(rank, size, Encoding.UTF8.GetString(name, 0, Math.Clamp(length, 0, name.Length)));
        return _current;
    }

    /// <summary>Copies <paramref name="data"/> of rank <paramref name="root"/> into every rank's <paramref name="data"/> (same length everywhere).</summary>
    public void Broadcast(Span<byte> data, int root = 0)
    {
        const int chunk = 1 << 30;   // MPI counts are int
        for (int off = 0; off < data.Length; off += chunk)
        {
            var part = data.Slice(off, Math.Min(chunk, data.Length - off));
            Check(MpiNative.MPI_Bcast(ref MemoryMarshal.GetReference(part), part.Length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
        }
    }

    /// <summary>Replaces <paramref name="values"/> on every rank by their element-wise sum over all ranks.</summary>
    public void SumInPlace(Span<float> values) =>
        Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(values)), values.Length,
            MpiNative.Float, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");

    /// <summary>Replaces <paramref name="values"/> on every rank by their element-wise sum over all ranks.</summary>
    public void SumInPlace(Span<double> values) =>
        Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(values)), values.Length,
            MpiNative.Double, MpiNative.OpSum, MpiNative.CommWorld), "MPI_Allreduce");

    /// <summary>Replaces <paramref name="values"/> on every rank by their element-wise maximum over all ranks.</summary>
    public void MaxInPlace(Span<double> values) =>
        Check(MpiNative.MPI_Allreduce(MpiNative.InPlace, ref MemoryMarshal.GetReference(MemoryMarshal.AsBytes(values)), values.Length,
            MpiNative.Double, MpiNative.OpMax, MpiNative.CommWorld), "MPI_Allreduce");

    /// <summary>Waits until every rank has called it.</summary>
    public void Barrier() => Check(MpiNative.MPI_Barrier(MpiNative.CommWorld), "MPI_Barrier");

    /// <summary>Stops every rank of the job (mpirun kills the others) with <paramref name="code"/>; does not return.</summary>
    public void Abort(int code)
    {
        MpiNative.MPI_Abort(MpiNative.CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>Finalises MPI (every rank must call it; it waits for the others).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (MpiNative.MPI_Finalized(out int done) == MpiNative.Success && done == 0) MpiNative.MPI_Finalize();
    }

    static void Check(int rc, string call)
    {
        if (rc == MpiNative.Success) return;
        var text = new byte[512];
        string reason = MpiNative.MPI_Error_string(rc, text, out int n) == MpiNative.Success
            ? Encoding.UTF8.GetString(text, 0, Math.Clamp(n, 0, text.Length)) : $"error {rc}";
        int rank = _current?.Rank ?? -1;
        int size = _current?.Size ?? 0;
        string who = rank >= 0 ? $" on rank {rank} of {size}" : "";
        throw new DistributedException($"{call} failed{who} ({reason.TrimEnd('.')}): another rank of the MPI job has stopped or cannot be reached");
    }
}
