using GenSharp.Models.Encoders;
using GenSharp.Rag;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Chunking, the SQLite store and hybrid retrieval over real documents (files from Debian's /usr/share/doc).</summary>
public class RagTests
{
    static readonly string Docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");

    static int Words(string s) => s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;

    [Fact]
    public void ChunksFollowHeadingsKeepTheBudgetOverlapAndPointAtTheirLines()
    {
        var path = Path.Combine(Docs, "systemd-DISTRO_PORTING.md");
        var text = File.ReadAllText(path);
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var chunker = new TextChunker(Words, maxTokens: 40, overlapTokens: 10);
        var chunks = chunker.Split("systemd-DISTRO_PORTING.md", text);
        Assert.True(chunks.Count > 5);
        Assert.All(chunks, c => Assert.True(Words(c.Text) <= 40, $"{c.Span}: {Words(c.Text)} words"));
        // Every chunk's lines are where it says: its first and last lines hold its first and last words.
        foreach (var c in chunks)
        {
            Assert.InRange(c.StartLine, 1, c.EndLine);
            Assert.Contains(c.Text.Split('\n')[0].Split(' ')[0], lines[c.StartLine - 1]);
            Assert.Contains(c.Text.Split('\n')[^1].Split(' ')[^1], lines[c.EndLine - 1]);
        }
        // Headings start chunks and name them; no chunk spans two sections.
        Assert.Contains(chunks, c => c.Heading == "NTP Pool");
        int ntp = Array.FindIndex(lines, l => l == "## NTP Pool") + 1, dns = Array.FindIndex(lines, l => l == "## DNS Servers") + 1;
        Assert.All(chunks.Where(c => c.Heading == "NTP Pool"), c => Assert.True(c.StartLine > ntp && c.EndLine < dns));
        // Consecutive chunks of one section share lines (the overlap).
        var section = chunks.Where(c => c.Heading == "HOWTO").ToList();
        Assert.True(section.Count >= 2);
        Assert.True(section[1].StartLine <= section[0].EndLine, $"{section[0].Span} then {section[1].Span}");
    }

    [Fact]
    public void IngestRetrievesTheRightDocumentReplacesOnlyChangedFilesAndSkipsBinaries()
    {
        TorchRuntime.EnsureReady();
        var dir = TestData.TempDir();
        foreach (var f in Directory.EnumerateFiles(Docs)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var index = Path.Combine(TestData.TempDir(), "docs.rag.sqlite");
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var chunker = new TextChunker(encoder.Tokenizer.CountTokens, maxTokens: 96, overlapTokens: 16);
        using (var store = SqliteRagStore.Open(index, encoder.Name, encoder.Dimensions))
        {
            var r = RagIngest.Run(dir, store, encoder, chunker);
            Assert.Equal(4, r.Added.Count);
            Assert.Contains(r.Skipped, s => s.Path == "image.png.txt" && s.Why.Contains("binary"));
            Assert.Equal(r.Chunks, store.Count());

            var retriever = new HybridRetriever(store, encoder);
            var (top, best) = retriever.Retrieve("Which range of user ids does Debian reserve for its own accounts?", 3);
            Assert.Equal("base-passwd-README.txt", top[0].Chunk.Source);
            Assert.True(best > 0.3);
            Assert.Equal("procps-bugs.md", retriever.Retrieve("How should I report a bug in procps?", 3).Chunks[0].Chunk.Source);
            Assert.Equal("systemd-DISTRO_PORTING.md", retriever.Retrieve("Which NTP servers should a distribution configure?", 3).Chunks[0].Chunk.Source);
            // BM25 alone finds an exact rare word.
            Assert.Equal("libsodium-README.markdown", store.SearchKeywords("libsodium", 1)[0].Chunk.Source);
            // A metadata filter keeps retrieval inside the sources it names, in every mode; the best cosine is theirs.
            var onlyProcps = new SourceFilter(new[] { "procps-*" });
            foreach (var mode in new[] { RetrievalMode.Hybrid, RetrievalMode.Vector, RetrievalMode.Keyword })
            {
                var (inside, insideBest) = new HybridRetriever(store, encoder) { Mode = mode, Filter = onlyProcps }
                    .Retrieve("Which range of user ids does Debian reserve for its own accounts? libsodium", 3);
                Assert.NotEmpty(inside);
                Assert.All(inside, c => Assert.Equal("procps-bugs.md", c.Chunk.Source));
                if (mode != RetrievalMode.Keyword) Assert.True(insideBest < best, $"{mode}: filtered best {insideBest} ≥ unfiltered {best}");
            }
            var byHeading = new HybridRetriever(store, encoder) { Filter = new SourceFilter(Array.Empty<string>(), top[0].Chunk.Heading.ToUpperInvariant()) }
                .Retrieve("How should I report a bug in procps?", 3).Chunks;
            Assert.All(byHeading, c => Assert.Contains(top[0].Chunk.Heading, c.Chunk.Heading, StringComparison.OrdinalIgnoreCase));

            // Unchanged files are left alone; a changed file has exactly its chunks replaced.
            var before = Ids(store).Where(p => p.Source != "procps-bugs.md").ToList();
            File.AppendAllText(Path.Combine(dir, "procps-bugs.md"), "\n## Zebra\nZebras graze quietly near the procps documentation.\n");
            var again = RagIngest.Run(dir, store, encoder, chunker);
            Assert.Equal(new[] { "procps-bugs.md" }, again.Changed);
            Assert.Equal(3, again.Unchanged.Count);
            Assert.Equal(before, Ids(store).Where(p => p.Source != "procps-bugs.md").ToList());
            Assert.Equal("procps-bugs.md", store.SearchKeywords("zebras", 1)[0].Chunk.Source);
            File.Delete(Path.Combine(dir, "libsodium-README.markdown"));
            Assert.Equal(new[] { "libsodium-README.markdown" }, RagIngest.Run(dir, store, encoder, chunker).Removed);
            Assert.Empty(store.SearchKeywords("libsodium", 1));
        }
        // An index built with one embedder refuses another.
        Assert.Contains("was built with the embedder all-MiniLM-L6-v2", Assert.Throws<GenSharpException>(() => SqliteRagStore.Open(index, "other-model", 384)).Message);
    }

    static List<(long Id, string Source)> Ids(SqliteRagStore store) =>
        Enumerable.Range(1, 10_000).Select(i => (long)i).Select(id => { try { return (id, store.Get(id).Source); } catch (GenSharpException) { return (id, ""); } })
            .Where(p => p.Item2 != "").Select(p => (p.id, p.Item2)).ToList();

    [Fact]
    public void SourceFilterGlobsMatchWholePaths()
    {
        Chunk At(string source, string heading = "") => new(source, 1, 2, heading, "text");
        var html = new SourceFilter(new[] { "library/*.html" });
        Assert.True(html.Accepts(At("library/os.html")));
        Assert.False(html.Accepts(At("library/sub/os.html")));            // * stays inside one folder
        Assert.False(html.Accepts(At("x/library/os.html")));              // the whole path, not a suffix
        Assert.False(html.Accepts(At("library/os.html.txt")));
        var deep = new SourceFilter(new[] { "**/*.md", "README?" });
        Assert.True(deep.Accepts(At("a/b/c.md")));
        Assert.True(deep.Accepts(At("README1")));
        Assert.False(deep.Accepts(At("README10")));
        Assert.False(deep.Accepts(At("c.md")));                           // **/ needs a folder
        var both = new SourceFilter(new[] { "*.txt" }, "Install");
        Assert.True(both.Accepts(At("a.txt", "Installing Python")));
        Assert.False(both.Accepts(At("a.txt", "Usage")));
        Assert.False(both.Accepts(At("a.md", "Installing Python")));
        Assert.Throws<GenSharpException>(() => new SourceFilter(new[] { " " }));
    }

    [Fact]
    public void DotProductMatchesTheLoop()
    {
        var rng = new Random(1);
        var a = Enumerable.Range(0, 389).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, 389).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        double loop = a.Zip(b, (x, y) => (double)x * y).Sum();
        Assert.Equal(loop, SqliteRagStore.Dot(a, b), 4);
    }

    [Fact]
    public void IngestAndQueriesFromAnotherConnectionAtOnceLoseNothing()
    {
        TorchRuntime.EnsureReady();
        var dir = TestData.TempDir();
        foreach (var f in new[] { "procps-bugs.md", "base-passwd-README.txt" }) File.Copy(Path.Combine(Docs, f), Path.Combine(dir, f));
        var index = Path.Combine(TestData.TempDir(), "busy.rag.sqlite");
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var chunker = new TextChunker(encoder.Tokenizer.CountTokens, maxTokens: 64, overlapTokens: 8);
        using var writer = SqliteRagStore.Open(index, encoder.Name, encoder.Dimensions);
        RagIngest.Run(dir, writer, encoder, chunker);
        var query = encoder.Embed(new[] { "How should I report a bug?" })[0];
        using var reader = SqliteRagStore.Open(index, encoder.Name, encoder.Dimensions);   // a second connection, as another process would have
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int queries = 0;
        using var done = new CancellationTokenSource();
        using var firstQuery = new ManualResetEventSlim();
        // A thread of its own, not the thread pool: under a full test run the pool can be too busy to start a task
        // before the ingests end, and then nothing overlaps.
        var readerThread = new Thread(() =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    var byVector = reader.SearchVectors(query, 5);
                    var byWords = reader.SearchKeywords("bug report zebra", 5);
                    if (byVector.Count != 5 || byVector.Concat(byWords).Any(c => c.Chunk.Source.Length == 0 || c.Chunk.Text.Length == 0))
                        errors.Enqueue($"query {queries}: {byVector.Count} vector hits");
                }
                catch (Exception e) { errors.Enqueue(e.GetType().Name + ": " + e.Message); }
                Interlocked.Increment(ref queries);
                firstQuery.Set();
            }
        }) { IsBackground = true };
        readerThread.Start();
        Assert.True(firstQuery.Wait(TimeSpan.FromMinutes(2)), "the reader thread ran no query");
        // Meanwhile the writer changes one file five times; each ingest replaces its chunks in one transaction. Each round
        // also waits for a query that started after it, so the reader's queries are spread across all five.
        int before = Volatile.Read(ref queries), during = 0;
        for (int round = 1; round <= 5; round++)
        {
            int start = Volatile.Read(ref queries);
            File.AppendAllText(Path.Combine(dir, "procps-bugs.md"), $"\n## Zebra {round}\nZebra sighting number {round} was reported as a bug.\n");
            Assert.Equal(new[] { "procps-bugs.md" }, RagIngest.Run(dir, writer, encoder, chunker).Changed);
            during += Volatile.Read(ref queries) - start;
            SpinWait.SpinUntil(() => Volatile.Read(ref queries) > start + 1, TimeSpan.FromMinutes(1));
        }
        done.Cancel();
        readerThread.Join();
        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(5)));
        Assert.True(Volatile.Read(ref queries) - before > 5, $"only {queries - before} queries ran across the ingests");
        Assert.True(during > 0, "no query ran while an ingest was writing");
        // Nothing lost or doubled: the same chunks as one fresh ingest of the final files, seen from either connection.
        var fresh = Path.Combine(TestData.TempDir(), "fresh.rag.sqlite");
        using var once = SqliteRagStore.Open(fresh, encoder.Name, encoder.Dimensions);
        RagIngest.Run(dir, once, encoder, chunker);
        Assert.Equal(once.Count(), writer.Count());
        Assert.Equal(once.Count(), reader.Count());
        Assert.Contains(reader.SearchKeywords("sighting", 20), c => c.Chunk.Text.Contains("number 5"));
    }
}
