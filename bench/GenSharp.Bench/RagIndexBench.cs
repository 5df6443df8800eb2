// Vector search in the RAG stores on N synthetic unit vectors clustered around 100 random centres (384 dimensions,
// MiniLM's size; seeded, so every store gets the same vectors and queries):
//   --store sqlite    exact (SIMD scan of the SQLite BLOBs) and approximate (USearch HNSW beside the file);
//   --store pgvector  exact (sequential scan, index scans off) and approximate (pgvector HNSW) in PostgreSQL, through
//                     PgvectorRagStore; --pg CONN or GENSHARP_PG names the server (bench/pg_trixie.sh start).
// Recall@10 of each search against brute force over the same vectors in memory (an independent computation: exact
// search scores 1.0 by construction, the approximate ones what they lose).
//
//   dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll rag-index [--store sqlite|pgvector] [--pg CONN]
//       [--chunks N] [--queries Q] [--exact-queries E] [--dim D] [--build-after]
//
// --build-after (pgvector): load with the HNSW index dropped and build it once at the end (CREATE INDEX, the bulk path a
// DBA takes for a million rows) instead of inserting into the graph row by row as ingest does.
// Printed: one JSON line: write rate (chunks/s, through the store's ReplaceSource, 500 chunks per source, without
// embedding), HNSW build seconds, p50/p99 query latency in ms for exact and approximate search (k = 10), recall@10.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GenSharp.Rag;
using Npgsql;

static class RagIndexBench
{
    const int PerSource = 500;

    public static int Run(string[] args)
    {
        int n = 10_000, queries = 200, dim = 384;
        int? exactQueries = null;
        string store = "sqlite";
        string? pg = Environment.GetEnvironmentVariable("GENSHARP_PG");
        bool buildAfter = false;
        for (int i = 1; i < args.Length; i++)
            switch (args[i])
            {
                case "--chunks": n = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--queries": queries = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--exact-queries": exactQueries = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--dim": dim = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--store": store = args[++i]; break;
                case "--pg": pg = args[++i]; break;
                case "--build-after": buildAfter = true; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        if (store is not ("sqlite" or "pgvector")) { Console.Error.WriteLine("--store is sqlite or pgvector"); return 2; }
        if (store == "pgvector" && string.IsNullOrEmpty(pg)) { Console.Error.WriteLine("--store pgvector needs --pg CONN or GENSHARP_PG (bench/pg_trixie.sh start)"); return 2; }
        int eq = Math.Min(queries, exactQueries ?? queries);
        string load0 = Load();

        var clock = Stopwatch.StartNew();
        var rng = new Random(7);
        var centres = Enumerable.Range(0, 100).Select(_ => Vector(rng, dim, null)).ToArray();
        var vectors = new float[n][];
        for (int i = 0; i < n; i++) vectors[i] = Vector(rng, dim, centres[rng.Next(centres.Length)]);
        var qs = Enumerable.Range(0, queries).Select(_ => Vector(rng, dim, centres[rng.Next(centres.Length)])).ToArray();
        var truth = qs.Select(q => BruteForce(vectors, q, 10)).ToArray();
        Console.Error.WriteLine($"rag-index: {n} vectors and {queries} brute-force answers in {clock.Elapsed.TotalSeconds:F0} s");

        var dir = Path.Combine(Path.GetTempPath(), "gensharp-rag-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        string indexName = "bench_" + Guid.NewGuid().ToString("N")[..8];
        IRagStore? s = null;
        try
        {
            s = store == "sqlite" ? SqliteRagStore.Open(Path.Combine(dir, "bench.rag.sqlite"), "synthetic", dim)
                                  : PgvectorRagStore.Open(pg!, indexName, "synthetic", dim);
            if (buildAfter && store == "pgvector") Sql(pg!, $"DROP INDEX {PgvectorRagStore.SchemaOf(indexName)}.chunks_hnsw");
            clock.Restart();
            for (int src = 0; src * PerSource < n; src++)
            {
                int count = Math.Min(PerSource, n - src * PerSource);
                var part = new ArraySegment<float[]>(vectors, src * PerSource, count);
                var chunks = Enumerable.Range(0, count).Select(i => new Chunk($"doc{src}", i + 1, i + 1, "", $"synthetic chunk {i} of document {src}")).ToList();
                s.ReplaceSource($"doc{src}", $"h{src}", chunks, part);
                if (src % 200 == 199) Console.Error.WriteLine($"rag-index: {(src + 1) * PerSource} written, {clock.Elapsed.TotalSeconds:F0} s");
            }
            double write = clock.Elapsed.TotalSeconds;
            Console.Error.WriteLine($"rag-index: {n} chunks written in {write:F1} s");

            int Global(Chunk c) => int.Parse(c.Source.AsSpan(3), CultureInfo.InvariantCulture) * PerSource + c.StartLine - 1;
            var exactMs = new List<double>();
            double exactRecall = 0;
            for (int i = 0; i < eq; i++)
            {
                var t = Stopwatch.StartNew();
                var found = s.SearchVectors(qs[i], 10);
                exactMs.Add(t.Elapsed.TotalMilliseconds);
                exactRecall += found.Count(c => truth[i].Contains(Global(c.Chunk))) / 10.0;
            }
            Console.Error.WriteLine($"rag-index: exact search done, p50 {Pct(exactMs, 0.5)} ms");

            clock.Restart();
            if (store == "sqlite") s.UseApproximateIndex();
            else if (buildAfter)
            {
                // pgvector's parallel build: the server's workers share the graph in maintenance_work_mem.
                Sql(pg!, $"SET maintenance_work_mem = '3GB'; SET max_parallel_maintenance_workers = 2; " +
                         $"CREATE INDEX chunks_hnsw ON {PgvectorRagStore.SchemaOf(indexName)}.chunks USING hnsw (embedding vector_cosine_ops) WITH (m = {PgvectorRagStore.M}, ef_construction = {PgvectorRagStore.EfConstruction})");
            }
            double build = clock.Elapsed.TotalSeconds;
            var annMs = new List<double>();
            double recall = 0;
            for (int i = 0; i < qs.Length; i++)
            {
                var t = Stopwatch.StartNew();
                var found = s.SearchNearest(qs[i], 10);
                annMs.Add(t.Elapsed.TotalMilliseconds);
                recall += found.Count(c => truth[i].Contains(Global(c.Chunk))) / 10.0;
            }
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                store, chunks = n, dim, queries, exact_queries = eq, build_after = buildAfter && store == "pgvector",
                store_chunks_per_s = Math.Round(n / write, 1), write_s = Math.Round(write, 1), hnsw_build_s = Math.Round(build, 2),
                exact_p50_ms = Pct(exactMs, 0.5), exact_p99_ms = Pct(exactMs, 0.99), exact_recall_at_10 = Math.Round(exactRecall / eq, 4),
                hnsw_p50_ms = Pct(annMs, 0.5), hnsw_p99_ms = Pct(annMs, 0.99), recall_at_10 = Math.Round(recall / qs.Length, 4),
                load_average_start = load0, load_average_end = Load(),
            }));
            return 0;
        }
        finally
        {
            s?.Dispose();
            if (store == "pgvector") PgvectorRagStore.Delete(pg!, indexName);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    static void Sql(string conn, string sql)
    {
        using var db = new NpgsqlConnection(conn);
        db.Open();
        using var c = new NpgsqlCommand(sql, db) { CommandTimeout = 0 };
        c.ExecuteNonQuery();
    }

    /// <summary>Indices of the <paramref name="k"/> vectors of largest dot product with <paramref name="q"/>.</summary>
    static HashSet<int> BruteForce(float[][] vectors, float[] q, int k)
    {
        var best = new PriorityQueue<int, float>();   // a min-heap: the worst of the best k on top
        for (int i = 0; i < vectors.Length; i++)
        {
            float d = Dot(vectors[i], q);
            if (best.Count < k) best.Enqueue(i, d);
            else if (best.TryPeek(out _, out var worst) && d > worst) best.EnqueueDequeue(i, d);
        }
        var set = new HashSet<int>();
        while (best.Count > 0) set.Add(best.Dequeue());
        return set;
    }

    static float Dot(float[] a, float[] b)
    {
        var acc = System.Numerics.Vector<float>.Zero;
        int w = System.Numerics.Vector<float>.Count, i = 0;
        for (; i + w <= a.Length; i += w) acc += new System.Numerics.Vector<float>(a, i) * new System.Numerics.Vector<float>(b, i);
        float sum = System.Numerics.Vector.Sum(acc);
        for (; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
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
