using GenSharp.Rag;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The HNSW index (USearch) beside a SQLite store: recall against exact search, and staying in step with the chunks.</summary>
public class ApproximateIndexTests
{
    /// <summary>Unit vectors around <paramref name="clusters"/> random centres (what embeddings of many topics look like).</summary>
    public static float[][] Clustered(int n, int dim, int clusters, int seed)
    {
        var rng = new Random(seed);
        double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var centres = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, dim).Select(_ => Gauss()).ToArray()).ToArray();
        return Enumerable.Range(0, n).Select(_ =>
        {
            var c = centres[rng.Next(clusters)];
            var v = c.Select(x => (float)(x + 0.6 * Gauss())).ToArray();
            var norm = (float)Math.Sqrt(v.Sum(x => (double)x * x));
            return v.Select(x => x / norm).ToArray();
        }).ToArray();
    }

    static Chunk Piece(string source, int i) => new(source, i + 1, i + 1, "", $"chunk {i} of {source}");

    static void Fill(SqliteRagStore store, float[][] vectors, int perSource)
    {
        for (int s = 0; s * perSource < vectors.Length; s++)
        {
            var part = vectors.Skip(s * perSource).Take(perSource).ToList();
            store.ReplaceSource($"doc{s}", $"h{s}", part.Select((_, i) => Piece($"doc{s}", i)).ToList(), part);
        }
    }

    [Fact]
    public void HnswFindsWhatExactSearchFindsWithTheSameCosines()
    {
        var path = Path.Combine(TestData.TempDir(), "ann.rag.sqlite");
        var vectors = Clustered(3000, 64, 30, seed: 1);
        using var store = SqliteRagStore.Open(path, "synthetic", 64);
        Fill(store, vectors, perSource: 100);
        store.UseApproximateIndex();
        Assert.True(File.Exists(ApproximateIndex.PathFor(path)));
        var queries = Clustered(60, 64, 30, seed: 2);
        double recall = 0;
        foreach (var q in queries)
        {
            var exact = store.SearchVectors(q, 10);
            var approx = store.SearchNearest(q, 10);
            recall += approx.Select(a => a.Id).Intersect(exact.Select(e => e.Id)).Count() / 10.0;
            // The cosine reported for each hit is the dot product of the stored vectors (independent of USearch).
            foreach (var a in approx)
            {
                var v = vectors[(int)(a.Id - 1)];
                Assert.Equal(q.Zip(v, (x, y) => (double)x * y).Sum(), a.Score, 4);
            }
        }
        recall /= queries.Length;
        Assert.True(recall >= 0.9, $"recall@10 {recall:F3}");
    }

    [Fact]
    public void TheGraphFollowsReplacedAndRemovedFilesPersistsAndCatchesUpWithOtherWriters()
    {
        var path = Path.Combine(TestData.TempDir(), "sync.rag.sqlite");
        var vectors = Clustered(400, 32, 8, seed: 3);
        using (var store = SqliteRagStore.Open(path, "synthetic", 32))
        {
            store.UseApproximateIndex();
            Fill(store, vectors, perSource: 50);
            // Replacing doc1: its old chunks are never returned again, its new ones are found.
            var oldId = store.SearchNearest(vectors[60], 1)[0].Id;
            Assert.Equal("doc1", store.Get(oldId).Source);
            var fresh = Clustered(5, 32, 8, seed: 4);
            store.ReplaceSource("doc1", "h1b", fresh.Select((_, i) => Piece("doc1", i)).ToList(), fresh);
            Assert.DoesNotContain(store.SearchNearest(vectors[60], 20), c => c.Id == oldId);
            var top = store.SearchNearest(fresh[2], 1)[0];
            Assert.Equal(("doc1", 3), (top.Chunk.Source, top.Chunk.StartLine));
            Assert.Equal(1.0, top.Score, 4);
            store.RemoveSource("doc2");
            Assert.DoesNotContain(store.SearchNearest(vectors[110], 50), c => c.Chunk.Source == "doc2");
        }
        var saved = File.GetLastWriteTimeUtc(ApproximateIndex.PathFor(path));
        using (var again = SqliteRagStore.Open(path, "synthetic", 32))
        {
            Assert.True(again.HasApproximateIndex);                                        // the file says so
            Assert.Equal(saved, File.GetLastWriteTimeUtc(ApproximateIndex.PathFor(path)));   // loaded, not rebuilt
            Assert.Equal("doc3", again.SearchNearest(vectors[160], 1)[0].Chunk.Source);
            // Another writer (a second connection) changes the file: this store's graph catches up on its next query.
            using (var other = SqliteRagStore.Open(path, "synthetic", 32))
            {
                var extra = Clustered(1, 32, 8, seed: 5);
                other.ReplaceSource("late", "hl", new[] { Piece("late", 0) }, extra);
                Assert.Equal("late", again.SearchNearest(extra[0], 1)[0].Chunk.Source);
            }
        }
        // A lost graph file is rebuilt from the stored vectors.
        File.Delete(ApproximateIndex.PathFor(path));
        using (var rebuilt = SqliteRagStore.Open(path, "synthetic", 32))
        {
            Assert.True(File.Exists(ApproximateIndex.PathFor(path)));
            Assert.Equal("doc3", rebuilt.SearchNearest(vectors[160], 1)[0].Chunk.Source);
        }
    }
}
