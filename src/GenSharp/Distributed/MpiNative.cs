using System.Runtime.InteropServices;

namespace GenSharp.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound to OpenMPI's <c>libmpi.so.40</c> (Debian's <c>libopenmpi3</c>,
/// pulled in by <c>openmpi-bin</c>). OpenMPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, ...)
/// are the addresses of exported globals (<c>ompi_mpi_comm_world</c>, ...), read once with
/// <see cref="NativeLibrary.GetExport"/>; the library is opened with <c>RTLD_GLOBAL</c> first because OpenMPI's
/// plugins (transports, launchers) resolve their symbols against it.
/// </summary>
internal static class MpiNative
{
    const string Lib = "libmpi.so.40";
    public const int Success = 0;
    public const int ThreadSerialized = 2;
    /// <summary>OpenMPI's <c>MPI_IN_PLACE</c>.</summary>
    public static readonly IntPtr InPlace = 1;

    static IntPtr _handle;

    public static IntPtr CommWorld { get; private set; }
    public static IntPtr Float { get; private set; }
    public static IntPtr Double { get; private set; }
    public static IntPtr Byte { get; private set; }
    public static IntPtr OpSum { get; private set; }
    public static IntPtr OpMax { get; private set; }
    public static IntPtr ErrorsReturn { get; private set; }

    /// <summary>Opens the library and reads the handles; false (with the reason) when OpenMPI is not installed.</summary>
    public static bool TryLoad(out string? problem)
    {
        problem = null;
        if (_handle != IntPtr.Zero) return true;
        // dlopen(RTLD_NOW | RTLD_GLOBAL): OpenMPI's dlopen'ed components need libmpi's symbols in the global scope.
        var h = dlopen(Lib, 0x2 | 0x100);
        if (h == IntPtr.Zero)
        {
            problem = $"cannot load {Lib} ({Marshal.PtrToStringUTF8(dlerror()) ?? "not found"}); install OpenMPI (Debian: apt-get install openmpi-bin libopenmpi-dev)";
            return false;
        }
        _handle = h;
        IntPtr Get(string name) => NativeLibrary.GetExport(h, name);
        CommWorld = Get("ompi_mpi_comm_world");
        Float = Get("ompi_mpi_float");
        Double = Get("ompi_mpi_double");
        Byte = Get("ompi_mpi_byte");
        OpSum = Get("ompi_mpi_op_sum");
        OpMax = Get("ompi_mpi_op_max");
        ErrorsReturn = Get("ompi_mpi_errors_return");
        return true;
    }

    [DllImport("libc.so.6", CharSet = CharSet.Ansi)] static extern IntPtr dlopen(string file, int mode);
    [DllImport("libc.so.6")] static extern IntPtr dlerror();

    [DllImport(Lib)] public static extern int MPI_Initialized(out int flag);
    [DllImport(Lib)] public static extern int MPI_Finalized(out int flag);
    [DllImport(Lib)] public static extern int MPI_Init_thread(IntPtr argc, IntPtr argv, int required, out int provided);
    [DllImport(Lib)] public static extern int MPI_Finalize();
    [DllImport(Lib)] public static extern int MPI_Abort(IntPtr comm, int errorcode);
    [DllImport(Lib)] public static extern int MPI_Comm_rank(IntPtr comm, out int rank);
    [DllImport(Lib)] public static extern int MPI_Comm_size(IntPtr comm, out int size);
    [DllImport(Lib)] public static extern int MPI_Comm_set_errhandler(IntPtr comm, IntPtr errhandler);
    [DllImport(Lib)] public static extern int MPI_Bcast(ref byte buffer, int count, IntPtr datatype, int root, IntPtr comm);
    [DllImport(Lib)] public static extern int MPI_Allreduce(IntPtr sendbuf, ref byte recvbuf, int count, IntPtr datatype, IntPtr op, IntPtr comm);
    [DllImport(Lib)] public static extern int MPI_Barrier(IntPtr comm);
    [DllImport(Lib)] public static extern int MPI_Error_string(int errorcode, byte[] text, out int length);
    [DllImport(Lib)] public static extern int MPI_Get_processor_name(byte[] name, out int length);
}
