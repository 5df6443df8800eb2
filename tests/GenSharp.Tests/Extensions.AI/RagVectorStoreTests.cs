using GenSharp.Extensions.AI;
using GenSharp.Rag;
using GenSharp.Runtime;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The RAG store through Microsoft.Extensions.VectorData: only the abstraction's types are used by the code under test.</summary>
public class RagVectorStoreTests
{
    [Fact]
    public async Task AnIngestedIndexIsSearchedFilteredWrittenAndDeletedThroughTheAbstraction()
    {
        TorchRuntime.EnsureReady();
        var folder = TestData.TempDir();
        using var generator = GenSharpEmbeddingGenerator.MiniLm();
        // An index built by ingest (the CLI's code path) ...
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        var encoder = (GenSharp.Models.Encoders.SentenceEncoder)generator.GetService(typeof(GenSharp.Models.Encoders.SentenceEncoder))!;
        using (var ingestStore = SqliteRagStore.Open(Path.Combine(folder, "docs.rag.sqlite"), encoder.Name, encoder.Dimensions))
            RagIngest.Run(docs, ingestStore, encoder, new TextChunker(encoder.Tokenizer.CountTokens, 96, 16));

        // ... read and changed through VectorStore / VectorStoreCollection only.
        VectorStore vectors = new RagVectorStore(folder, generator);
        Assert.Equal(new[] { "docs" }, await vectors.ListCollectionNamesAsync().ToListAsync());
        Assert.True(await vectors.CollectionExistsAsync("docs"));
        Assert.False(await vectors.CollectionExistsAsync("other"));
        using VectorStoreCollection<long, RagChunkRecord> docsCollection = vectors.GetCollection<long, RagChunkRecord>("docs");

        const string question = "Which range of user ids does Debian reserve for its own accounts?";
        var hits = await docsCollection.SearchAsync(question, 3, new VectorSearchOptions<RagChunkRecord> { IncludeVectors = true }).ToListAsync();
        Assert.Equal(3, hits.Count);
        Assert.Equal("base-passwd-README.txt", hits[0].Record.Source);
        Assert.StartsWith("base-passwd-README.txt:", hits[0].Record.Span);
        // The score is the cosine of the query's embedding and the record's stored embedding, computed here.
        var q = (await generator.GenerateAsync(new[] { question }))[0].Vector.ToArray();
        var e = hits[0].Record.Embedding.ToArray();
        Assert.Equal(q.Zip(e, (a, b) => (double)a * b).Sum(), hits[0].Score!.Value, 4);
        Assert.True(hits[0].Score >= hits[1].Score && hits[1].Score >= hits[2].Score);

        // A metadata filter keeps the search inside one source.
        var filtered = await docsCollection.SearchAsync(question, 2, new VectorSearchOptions<RagChunkRecord> { Filter = r => r.Source == "procps-bugs.md" }).ToListAsync();
        Assert.NotEmpty(filtered);
        Assert.All(filtered, h => Assert.Equal("procps-bugs.md", h.Record.Source));
        var bySource = await docsCollection.GetAsync(r => r.Source == "libsodium-README.markdown", 100).ToListAsync();
        Assert.NotEmpty(bySource);
        Assert.All(bySource, r => Assert.True(r.Embedding.IsEmpty));

        // Upsert without a vector: the generator embeds the text; the record then ranks first for its own question.
        var note = new RagChunkRecord { Source = "notes.md", Start = 1, End = 2, Heading = "Penguins", Text = "Emperor penguins huddle together to survive the Antarctic winter." };
        await docsCollection.UpsertAsync(note);
        Assert.True(note.Id > 0);
        var top = await docsCollection.SearchAsync("How do emperor penguins survive the cold?", 1).SingleAsync();
        Assert.Equal(note.Id, top.Record.Id);
        Assert.Equal("notes.md:1-2", top.Record.Span);
        var back = await docsCollection.GetAsync(note.Id, new RecordRetrievalOptions { IncludeVectors = true });
        Assert.Equal(note.Text, back!.Text);
        Assert.Equal(384, back.Embedding.Length);
        // BM25 sees it too (the same store, FTS5).
        Assert.Equal("notes.md", ((SqliteRagStore)docsCollection.GetService(typeof(SqliteRagStore))!).SearchKeywords("penguins", 1)[0].Chunk.Source);
        await docsCollection.DeleteAsync(note.Id);
        Assert.Null(await docsCollection.GetAsync(note.Id));
        Assert.NotEqual("notes.md", (await docsCollection.SearchAsync("How do emperor penguins survive the cold?", 1).SingleAsync()).Record.Source);

        // A new collection through the abstraction, then deleted.
        using var fresh = vectors.GetCollection<long, RagChunkRecord>("fresh");
        await fresh.EnsureCollectionExistsAsync();
        Assert.True(await vectors.CollectionExistsAsync("fresh"));
        await fresh.EnsureCollectionDeletedAsync();
        Assert.False(await vectors.CollectionExistsAsync("fresh"));
        Assert.Throws<NotSupportedException>(() => vectors.GetCollection<string, RagChunkRecord>("docs"));
    }
}
