// Vector search in the RAG store: exact (SIMD scan of the SQLite BLOBs) against the approximate HNSW index
// (USearch, beside the file), on N synthetic unit vectors clustered around 100 random centres (384 dimensions,
// MiniLM's size); recall@10 of the approximate search against the exact one on Q queries from the same distribution.
//
//   dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll rag-index [--chunks N] [--queries Q] [--dim D]
//
// Printed: one JSON line: store write rate (chunks/s, without embedding), HNSW build seconds, p50/p99 query latency in
// ms for both, recall@10.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GenSharp.Rag;

static class RagIndexBench
{
    public static int Run(string[] args)
    {
        int n = 10_000, queries = 200, dim = 384;
        for (int i = 1; i < args.Length; i++)
            switch (args[i])
            {
                case "--chunks": n = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--queries": queries = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dim": dim = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        var dir = Path.Combine(Path.GetTempPath(), "gensharp-rag-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var rng = new Random(7);
            var centres = Enumerable.Range(0, 100).Select(_ => Vector(rng, dim, null)).ToArray();
            var path = Path.Combine(dir, "bench.rag.sqlite");
            using var store = SqliteRagStore.Open(path, "synthetic", dim);
            var clock = Stopwatch.StartNew();
            const int perSource = 500;
            for (int s = 0; s * perSource < n; s++)
            {
                int count = Math.Min(perSource, n - s * perSource);
                var vectors = Enumerable.Range(0, count).Select(_ => Vector(rng, dim, centres[rng.Next(centres.Length)])).ToList();
                var chunks = Enumerable.Range(0, count).Select(i => new Chunk($"doc{s}", i + 1, i + 1, "", $"synthetic chunk {i} of document {s}")).ToList();
                store.ReplaceSource($"doc{s}", $"h{s}", chunks, vectors);
            }
            double write = clock.Elapsed.TotalSeconds;
            var qs = Enumerable.Range(0, queries).Select(_ => Vector(rng, dim, centres[rng.Next(centres.Length)])).ToArray();
            var exactMs = new List<double>();
            var exact = new List<HashSet<long>>();
            foreach (var q in qs)
            {
                var t = Stopwatch.StartNew();
                exact.Add(store.SearchVectors(q, 10).Select(c => c.Id).ToHashSet());
                exactMs.Add(t.Elapsed.TotalMilliseconds);
            }
            clock.Restart();
            store.UseApproximateIndex();
            double build = clock.Elapsed.TotalSeconds;
            var annMs = new List<double>();
            double recall = 0;
            for (int i = 0; i < qs.Length; i++)
            {
                var t = Stopwatch.StartNew();
                var found = store.SearchNearest(qs[i], 10);
                annMs.Add(t.Elapsed.TotalMilliseconds);
                recall += found.Count(c => exact[i].Contains(c.Id)) / 10.0;
            }
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                chunks = n, dim, queries, store_chunks_per_s = Math.Round(n / write, 1), hnsw_build_s = Math.Round(build, 2),
                exact_p50_ms = Pct(exactMs, 0.5), exact_p99_ms = Pct(exactMs, 0.99), hnsw_p50_ms = Pct(annMs, 0.5), hnsw_p99_ms = Pct(annMs, 0.99),
                recall_at_10 = Math.Round(recall / qs.Length, 4), load_average = File.ReadAllText("/proc/loadavg").Split(' ')[0],
            }));
            return 0;
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    }

    static double Pct(List<double> xs, double p)
    {
        var s = xs.Order().ToList();
        return Math.Round(s[Math.Min(s.Count - 1, (int)Math.Ceiling(p * s.Count) - 1)], 3);
    }

    static float[] Vector(Random rng, int dim, float[]? centre)
    {
        var v = new float[dim];
        for (int i = 0; i < dim; i++)
        {
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            v[i] = (float)((centre?[i] ?? 0) * 1.0 + (centre is null ? 1.0 : 0.08) * g);
        }
        var norm = (float)Math.Sqrt(v.Sum(x => (double)x * x));
        for (int i = 0; i < dim; i++) v[i] /= norm;
        return v;
    }
}
