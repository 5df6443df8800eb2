using GenSharp.Extensions.AI;
using GenSharp.Models.Encoders;
using GenSharp.Rag;
using GenSharp.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// The PostgreSQL + pgvector store against a real server: the trixie chroot's PostgreSQL 17 with pgvector that
/// bench/pg_trixie.sh starts, named by GENSHARP_PG (.ci/run sets it; as root the tests start it themselves). Without a
/// server these tests fail; GENSHARP_SKIP_PG=1
/// makes them return at once, for a developer who chose to go without the server.
/// </summary>
public class PgvectorStoreTests
{
    /// <summary>The server's connection string, or null when the developer opted out with GENSHARP_SKIP_PG=1.</summary>
    static string? Server()
    {
        if (Environment.GetEnvironmentVariable("GENSHARP_SKIP_PG") == "1") return null;
        return Started.Value;
    }

    /// <summary>
    /// GENSHARP_PG when set; otherwise, as root, the server bench/pg_trixie.sh starts (it builds its chroot the first
    /// time, and reuses a server that already answers), so the README's test command needs no manual step. The server
    /// is left running for the next run; `bench/pg_trixie.sh stop` ends it.
    /// </summary>
    static readonly Lazy<string> Started = new(() =>
    {
        var cs = Environment.GetEnvironmentVariable("GENSHARP_PG");
        if (!string.IsNullOrWhiteSpace(cs)) return cs;
        if (GetEuid() != 0)
            throw new Xunit.Sdk.XunitException("GENSHARP_PG is not set and the tests cannot start a server without root: run `export GENSHARP_PG=$(sudo bench/pg_trixie.sh start)` " +
                                               "or set GENSHARP_SKIP_PG=1 to leave the PostgreSQL tests out on purpose");
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "GenSharp.sln"))) root = Path.GetDirectoryName(root) ?? throw new FileNotFoundException("GenSharp.sln");
        var psi = new System.Diagnostics.ProcessStartInfo("bash", [Path.Combine(root, "bench", "pg_trixie.sh"), "start"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        if (p.ExitCode != 0 || output.Length == 0)
            throw new Xunit.Sdk.XunitException($"bench/pg_trixie.sh start failed (exit {p.ExitCode}): {err.Result.Trim().Split('\n').LastOrDefault()}");
        return output.Split('\n').Last().Trim();
    });

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    static extern uint GetEuid();

    /// <summary>A fresh index name, and its removal when the test ends.</summary>
    sealed class TempIndex(string server) : IDisposable
    {
        public string Name { get; } = "t" + Guid.NewGuid().ToString("N")[..12];
        public void Dispose() => PgvectorRagStore.Delete(server, Name);
    }

    static void Fill(IRagStore store, float[][] vectors, int perSource)
    {
        for (int s = 0; s * perSource < vectors.Length; s++)
        {
            var part = vectors.Skip(s * perSource).Take(perSource).ToList();
            store.ReplaceSource($"doc{s}", $"h{s}", part.Select((_, i) => new Chunk($"doc{s}", i + 1, i + 1, "", $"chunk {i} of doc{s}")).ToList(), part);
        }
    }

    [Fact]
    public void HnswFindsTheTopChunksOfSqliteExactSearch()
    {
        if (Server() is not { } server) return;
        using var index = new TempIndex(server);
        var vectors = ApproximateIndexTests.Clustered(3000, 384, 30, seed: 1);
        using var pg = PgvectorRagStore.Open(server, index.Name, "synthetic", 384);
        using var sqlite = SqliteRagStore.Open(Path.Combine(TestData.TempDir(), "exact.rag.sqlite"), "synthetic", 384);
        Fill(pg, vectors, perSource: 250);
        Fill(sqlite, vectors, perSource: 250);
        Assert.Equal(3000, pg.Count());
        var queries = ApproximateIndexTests.Clustered(50, 384, 30, seed: 2);
        double recall = 0;
        foreach (var q in queries)
        {
            // SQLite's exact scan is the reference (its own SIMD dot products); chunks are compared by their spans.
            var exact = sqlite.SearchVectors(q, 10);
            var pgExact = pg.SearchVectors(q, 10);
            Assert.Equal(exact.Select(e => e.Chunk.Span), pgExact.Select(e => e.Chunk.Span));
            for (int i = 0; i < 10; i++) Assert.Equal(exact[i].Score, pgExact[i].Score, 4);
            var approx = pg.SearchNearest(q, 10);
            Assert.Equal(10, approx.Count);
            recall += approx.Select(a => a.Chunk.Span).Intersect(exact.Select(e => e.Chunk.Span)).Count() / 10.0;
            // The cosine pgvector reports is the dot product of the stored vectors, computed here.
            foreach (var a in approx)
            {
                var v = vectors[int.Parse(a.Chunk.Source[3..]) * 250 + a.Chunk.StartLine - 1];
                Assert.Equal(q.Zip(v, (x, y) => (double)x * y).Sum(), a.Score, 4);
            }
        }
        recall /= queries.Length;
        Assert.True(recall >= 0.9, $"recall@10 {recall:F3}");
    }

    [Fact]
    public void IngestRetrievesReplacesOnlyTheChangedFileFindsRareWordsAndRefusesAnotherEmbedder()
    {
        if (Server() is not { } server) return;
        TorchRuntime.EnsureReady();
        using var index = new TempIndex(server);
        var dir = TestData.TempDir();
        foreach (var f in Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var chunker = new TextChunker(encoder.Tokenizer.CountTokens, maxTokens: 96, overlapTokens: 16);
        var location = RagStoreLocation.Parse(server);
        Assert.True(location.IsPostgres);
        using (var store = location.Open(index.Name, encoder.Name, encoder.Dimensions))
        {
            Assert.IsType<PgvectorRagStore>(store);
            var r = RagIngest.Run(dir, store, encoder, chunker);
            Assert.Equal(4, r.Added.Count);
            Assert.Contains(r.Skipped, s => s.Path == "image.png.txt" && s.Why.Contains("binary"));
            Assert.Equal(r.Chunks, store.Count());
            Assert.Equal(new[] { "base-passwd-README.txt", "libsodium-README.markdown", "procps-bugs.md", "systemd-DISTRO_PORTING.md" }, store.Sources());

            var retriever = new HybridRetriever(store, encoder);
            var (top, best) = retriever.Retrieve("Which range of user ids does Debian reserve for its own accounts?", 3);
            Assert.Equal("base-passwd-README.txt", top[0].Chunk.Source);
            Assert.True(best > 0.3);
            Assert.Equal("systemd-DISTRO_PORTING.md", retriever.Retrieve("Which NTP servers should a distribution configure?", 3).Chunks[0].Chunk.Source);
            // Full-text search alone finds a word only one file has.
            Assert.Equal("libsodium-README.markdown", store.SearchKeywords("libsodium", 1)[0].Chunk.Source);
            Assert.Empty(store.SearchKeywords("the and of", 5));   // stop words only: no query, no hits

            // Unchanged files keep their chunk ids; the changed one has exactly its chunks replaced.
            List<(long, string)> Others() => store.Chunks(c => c.Source != "procps-bugs.md").Select(p => (p.Id, p.Chunk.Span)).ToList();
            var before = Others();
            File.AppendAllText(Path.Combine(dir, "procps-bugs.md"), "\n## Zebra\nZebras graze quietly near the procps documentation.\n");
            var again = RagIngest.Run(dir, store, encoder, chunker);
            Assert.Equal(new[] { "procps-bugs.md" }, again.Changed);
            Assert.Equal(3, again.Unchanged.Count);
            Assert.Equal(before, Others());
            Assert.Equal("procps-bugs.md", store.SearchKeywords("zebra", 1)[0].Chunk.Source);   // stemmed: zebras ~ zebra
            File.Delete(Path.Combine(dir, "libsodium-README.markdown"));
            Assert.Equal(new[] { "libsodium-README.markdown" }, RagIngest.Run(dir, store, encoder, chunker).Removed);
            Assert.Empty(store.SearchKeywords("libsodium", 1));
        }
        Assert.Equal(encoder.Name, location.EmbedderOf(index.Name));
        Assert.Null(location.EmbedderOf("never_made"));
        // An index built with one embedder refuses another, in one line.
        var refused = Assert.Throws<GenSharpException>(() => location.Open(index.Name, "other-model", 384)).Message;
        Assert.Contains("was built with the embedder all-MiniLM-L6-v2", refused);
        Assert.DoesNotContain('\n', refused);
    }

    [Fact]
    public async Task ConcurrentIngestAndQueriesLoseNothingAndNeverSeeHalfAFile()
    {
        if (Server() is not { } server) return;
        using var index = new TempIndex(server);
        const int dim = 16, sources = 6;
        var rng = new Random(3);
        float[] Unit() { var v = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(); var n = (float)Math.Sqrt(v.Sum(x => x * x)); return v.Select(x => x / n).ToArray(); }
        // Version A of a source has 5 chunks, version B 8: a reader must see 5 or 8 per source, never 0, 13 or a mix.
        (List<Chunk>, List<float[]>) Version(string src, bool b)
        {
            int n = b ? 8 : 5;
            lock (rng) return (Enumerable.Range(0, n).Select(i => new Chunk(src, i + 1, i + 1, "", $"{(b ? "beta" : "alpha")} chunk {i} of {src}")).ToList(),
                               Enumerable.Range(0, n).Select(_ => Unit()).ToList());
        }
        using (var setup = PgvectorRagStore.Open(server, index.Name, "synthetic", dim))
            for (int s = 0; s < sources; s++) { var (c, v) = Version($"src{s}", false); setup.ReplaceSource($"src{s}", "a", c, v); }

        var stop = DateTime.UtcNow.AddSeconds(4);
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        // Every source starts at version A; on a slow machine a writer may not reach every source before the stop.
        var last = Enumerable.Repeat("a", sources).ToArray();
        // Two writers (separate stores = separate connections, as two processes would be) rewrite the same sources.
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() =>
        {
            using var store = PgvectorRagStore.Open(server, index.Name, "synthetic", dim);
            for (int round = 0; DateTime.UtcNow < stop; round++)
            {
                int s = (round + w) % sources;
                bool b = (round / sources + w) % 2 == 0;
                var (c, v) = Version($"src{s}", b);
                lock (last) { store.ReplaceSource($"src{s}", b ? "b" : "a", c, v); last[s] = b ? "b" : "a"; }
            }
        })).ToList();
        // Readers query meanwhile, through one shared store (the store is thread-safe).
        using var shared = PgvectorRagStore.Open(server, index.Name, "synthetic", dim);
        int reads = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (DateTime.UtcNow < stop)
            {
                float[] q; lock (rng) q = Unit();
                var near = shared.SearchNearest(q, 5);
                if (near.Count != 5) errors.Enqueue($"nearest returned {near.Count}");
                var all = shared.Chunks();
                foreach (var g in all.GroupBy(p => p.Chunk.Source))
                {
                    var kinds = g.Select(p => p.Chunk.Text.Split(' ')[0]).Distinct().ToList();
                    int n = g.Count();
                    if (kinds.Count != 1 || n != (kinds[0] == "beta" ? 8 : 5)) errors.Enqueue($"{g.Key}: {n} chunks of {string.Join("+", kinds)}");
                }
                if (all.Select(p => p.Chunk.Source).Distinct().Count() != sources) errors.Enqueue("a source went missing");
                if (shared.SearchKeywords("alpha beta", 3).Count == 0) errors.Enqueue("keyword search found nothing");
                Interlocked.Increment(ref reads);
            }
        })).ToList();
        await Task.WhenAll(writers.Concat(readers));
        Assert.Empty(errors);
        Assert.True(reads > 10, $"only {reads} reads");
        // Nothing lost, nothing doubled: every source holds exactly its last written version.
        for (int s = 0; s < sources; s++)
        {
            Assert.Equal(last[s], shared.FileHash($"src{s}"));
            Assert.Equal(last[s] == "b" ? 8 : 5, shared.Chunks(c => c.Source == $"src{s}").Count);
        }
    }

    [Fact]
    public async Task TheVectorDataAdapterWorksOverPgvector()
    {
        if (Server() is not { } server) return;
        TorchRuntime.EnsureReady();
        using var index = new TempIndex(server);
        using var generator = GenSharpEmbeddingGenerator.MiniLm();
        VectorStore vectors = new RagVectorStore(RagStoreLocation.Postgres(server), generator);
        Assert.False(await vectors.CollectionExistsAsync(index.Name));
        using var notes = vectors.GetCollection<long, RagChunkRecord>(index.Name);
        await notes.EnsureCollectionExistsAsync();
        Assert.True(await vectors.CollectionExistsAsync(index.Name));
        Assert.Contains(index.Name, await vectors.ListCollectionNamesAsync().ToListAsync());

        var records = new[]
        {
            new RagChunkRecord { Source = "birds.md", Start = 1, End = 2, Heading = "Penguins", Text = "Emperor penguins huddle together to survive the Antarctic winter." },
            new RagChunkRecord { Source = "tools.md", Start = 3, End = 3, Heading = "Compilers", Text = "A compiler translates source code into machine instructions." },
            new RagChunkRecord { Source = "food.md", Start = 7, End = 9, Heading = "Bread", Text = "Sourdough bread rises with wild yeast and lactic bacteria.", Pages = true },
        };
        await notes.UpsertAsync(records);
        Assert.All(records, r => Assert.True(r.Id > 0));
        const string question = "How do emperor penguins survive the cold?";
        var hits = await notes.SearchAsync(question, 3, new VectorSearchOptions<RagChunkRecord> { IncludeVectors = true }).ToListAsync();
        Assert.Equal(records[0].Id, hits[0].Record.Id);
        Assert.Equal("birds.md:1-2", hits[0].Record.Span);
        // The score is the cosine of the query's embedding and the stored one, computed here.
        var q = (await generator.GenerateAsync(new[] { question }))[0].Vector.ToArray();
        Assert.Equal(q.Zip(hits[0].Record.Embedding.ToArray(), (a, b) => (double)a * b).Sum(), hits[0].Score!.Value, 4);
        // Filtered search and filtered get; pages survive the round trip.
        var filtered = await notes.SearchAsync(question, 3, new VectorSearchOptions<RagChunkRecord> { Filter = r => r.Source == "food.md" }).ToListAsync();
        Assert.Equal("food.md:p7-9", Assert.Single(filtered).Record.Span);
        Assert.Equal(2, (await notes.GetAsync(r => r.Source != "food.md", 10).ToListAsync()).Count);
        // Upsert of an existing id replaces it; the keyword index follows.
        var store = (PgvectorRagStore)notes.GetService(typeof(PgvectorRagStore))!;
        records[1].Text = "An interpreter runs source code directly, one statement at a time.";
        records[1].Embedding = ReadOnlyMemory<float>.Empty;
        await notes.UpsertAsync(records[1]);
        Assert.Equal(3, store.Count());
        Assert.Equal(records[1].Id, store.SearchKeywords("interpreter", 1)[0].Id);
        Assert.Empty(store.SearchKeywords("translates", 1));   // the old text is gone from the keyword index
        // A new record after an explicit id gets a fresh id.
        var extra = new RagChunkRecord { Id = 1000, Source = "x.md", Text = "Explicit ids are kept." };
        await notes.UpsertAsync(extra);
        var later = new RagChunkRecord { Source = "y.md", Text = "Generated ids come after them." };
        await notes.UpsertAsync(later);
        Assert.Equal(1000, extra.Id);
        Assert.True(later.Id > 1000, $"id {later.Id}");
        await notes.DeleteAsync(records[0].Id);
        Assert.Null(await notes.GetAsync(records[0].Id));
        await notes.EnsureCollectionDeletedAsync();
        Assert.False(await vectors.CollectionExistsAsync(index.Name));
    }

    [Fact]
    public void AServerThatIsNotThereIsAOneLineError()
    {
        // Port 9 (discard) on loopback has no PostgreSQL: the error names the place and the fix, in one line.
        var e = Assert.Throws<GenSharpException>(() => PgvectorRagStore.Open("Host=127.0.0.1;Port=9;Username=postgres;Database=none;Timeout=3", "docs", "m", 4));
        Assert.Contains("postgres://127.0.0.1:9/none index docs", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("not a PostgreSQL index name", Assert.Throws<GenSharpException>(() => PgvectorRagStore.SchemaOf("Bad-Name")).Message);
    }

    [Fact]
    public void CliIngestAndEvalRunOnAPostgresStore()
    {
        if (Server() is not { } server) return;
        using var index = new TempIndex(server);
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        var ingest = CliTests.Run("rag", "ingest", docs, "--index", index.Name, "--store", server, "--chunk-tokens", "64", "--overlap", "8");
        Assert.True(ingest.Code == 0, ingest.Out + ingest.Err);
        int LineOf(string f, string words) => Array.FindIndex(File.ReadAllLines(Path.Combine(docs, f)), l => l.Contains(words)) + 1;
        var qa = Path.Combine(TestData.TempDir(), "qa.jsonl");
        int line = LineOf("base-passwd-README.txt", "0-99 range");
        File.WriteAllLines(qa, new[]
        {
            $$"""{"id":"uids","question":"Which range of user ids does Debian reserve?","gold":[{"path":"base-passwd-README.txt","start":{{line}},"end":{{line}}}]}""",
            """{"id":"none","question":"What is the airspeed velocity of an unladen swallow?","answerable":false}""",
        });
        var r = CliTests.Run("rag", "eval", index.Name, "--store", server, "--qa", qa, "--mode", "hybrid");
        Assert.True(r.Code == 0, r.Out + r.Err);
        Assert.Contains("PostgreSQL index " + index.Name, r.Out);
        var hybrid = System.Text.Json.Nodes.JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!["modes"]![0]!;
        Assert.Equal(1.0, hybrid["recall_at_10"]!.GetValue<double>());
        Assert.Equal(1.0, hybrid["not_found_accuracy"]!.GetValue<double>());
        // A name with no index behind it in that database is one line, exit 1.
        CliTests.AssertOneLineError(CliTests.Run("rag", "eval", "nosuch" + index.Name, "--store", server, "--qa", qa), 1, "no index there");
    }

    [Fact]
    public async Task ServerAnswersFromAPostgresIndexWithRagStore()
    {
        if (Server() is not { } server) return;
        using var index = new TempIndex(server);
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        var ingest = CliTests.Run("rag", "ingest", docs, "--index", index.Name, "--store", server, "--chunk-tokens", "64", "--overlap", "8");
        Assert.True(ingest.Code == 0, ingest.Out + ingest.Err);
        await using var host = await GenSharp.Server.GenSharpServer.StartAsync(new GenSharp.Server.ServerOptions { ModelsDir = TestData.TempDir(), RagStore = server, Port = 0 });
        using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

        var list = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("/v1/rag"))!["data"]!.AsArray();
        var mine = Assert.Single(list, e => e!["id"]!.GetValue<string>() == index.Name)!;
        Assert.Equal("all-MiniLM-L6-v2", mine["embedder"]!.GetValue<string>());

        async Task<(int, System.Text.Json.Nodes.JsonNode)> Ask(string name, string question)
        {
            using var r = await http.PostAsync($"/v1/rag/{name}/ask", new StringContent(new System.Text.Json.Nodes.JsonObject { ["question"] = question }.ToJsonString(),
                System.Text.Encoding.UTF8, "application/json"));
            return ((int)r.StatusCode, System.Text.Json.Nodes.JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        }
        var (status, body) = await Ask(index.Name, "Which range of user ids does Debian reserve?");
        Assert.True(status == 200, body.ToJsonString());
        Assert.True(body["found"]!.GetValue<bool>());
        Assert.Equal("base-passwd-README.txt", body["sources"]![0]!["path"]!.GetValue<string>());
        (status, body) = await Ask("nosuch" + index.Name, "anything?");
        Assert.Equal(404, status);
        Assert.Contains("no RAG index", body.ToJsonString());
        (status, _) = await Ask("Bad-Name", "anything?");
        Assert.Equal(400, status);
    }
}
