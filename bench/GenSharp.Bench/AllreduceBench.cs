// MPI all-reduce latency and bandwidth through GenSharp's own binding (GenSharp.Distributed.MpiCommunicator), the call
// data-parallel training makes for every gradient bucket. Run under mpirun (bench/run_distributed.sh does):
//
//   mpirun -np 2 dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll allreduce [--reps R]
//
// Rank 0 prints one JSON line per message size: bytes, microseconds per call (median of 5 timed batches of calls),
// the algorithm bandwidth bytes/t and the bus bandwidth 2(N-1)/N · bytes/t (what each link carries in a ring).
using System.Diagnostics;
using System.Globalization;
using GenSharp.Distributed;

static class AllreduceBench
{
    public static int Run(string[] args)
    {
        int reps = 20;
        for (int i = 1; i < args.Length; i++)
            if (args[i] == "--reps") reps = int.Parse(args[++i], CultureInfo.InvariantCulture);
        using var comm = MpiCommunicator.Initialize();
        int n = comm.Size;
        for (long bytes = 1 << 10; bytes <= 1L << 26; bytes *= 4)
        {
            var buffer = new float[bytes / 4];
            int calls = (int)Math.Clamp((1L << 24) / bytes * reps / 20, 3, 2000);
            for (int w = 0; w < 3; w++) comm.SumInPlace(buffer);
            var times = new List<double>();
            for (int batch = 0; batch < 5; batch++)
            {
                comm.Barrier();
                var clock = Stopwatch.StartNew();
                for (int c = 0; c < calls; c++) comm.SumInPlace(buffer);
                times.Add(clock.Elapsed.TotalSeconds / calls);
            }
            times.Sort();
            double t = times[2];
            if (comm.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"bench\":\"allreduce\",\"ranks\":{n},\"bytes\":{bytes},\"us\":{t * 1e6:F1},\"algbw_gbps\":{bytes / t / 1e9:F3},\"busbw_gbps\":{2.0 * (n - 1) / n * bytes / t / 1e9:F3}}}"));
        }
        return 0;
    }
}
