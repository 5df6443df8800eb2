using System.Text.Json.Nodes;
using Xunit;

namespace GenSharp.Tests;

public class RagCliTests
{
    [Fact]
    public void IngestThenAskCitesTheRetrievedChunksOrSaysNotFound()
    {
        var dir = TestData.TempDir();
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        var index = Path.Combine(dir, "docs");
        var i = CliTests.Run("rag", "ingest", docs, "--index", index, "--chunk-tokens", "96", "--overlap", "16");
        Assert.True(i.Code == 0, i.Out + i.Err);
        Assert.Contains("skipped image.png.txt: binary", i.Out);
        Assert.Equal(4, JsonNode.Parse(i.Out.Trim().Split('\n')[^1])!["added"]!.GetValue<int>());
        var again = CliTests.Run("rag", "ingest", docs, "--index", index, "--chunk-tokens", "96", "--overlap", "16", "--approximate");
        var againJson = JsonNode.Parse(again.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(4, againJson["unchanged"]!.GetValue<int>());
        Assert.True(againJson["approximate"]!.GetValue<bool>());   // the HNSW graph is built from the stored vectors
        Assert.True(File.Exists(index + ".rag.sqlite.usearch"));

        // A tiny byte-level BPE gpt answers (its words are noise; what is checked is the grounding and the citations).
        var data = Path.Combine(dir, "lm.txt");
        File.WriteAllText(data, string.Concat(Enumerable.Repeat(File.ReadAllText(Path.Combine(docs, "base-passwd-README.txt")), 3)));
        var lm = Path.Combine(dir, "lm");
        var t = CliTests.Run("train", "gpt", "--out", lm, "--data", data, "--steps", "2", "--batch-size", "2", "--set", "tokenizer=bpe",
            "--set", "bpe_vocab_size=300", "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2", "--set", "block_size=32");
        Assert.True(t.Code == 0, t.Out + t.Err);
        var a = CliTests.Run("rag", "ask", index, "Which range of user ids does Debian reserve?", "--model", lm, "--max-tokens", "8");
        Assert.True(a.Code == 0, a.Out + a.Err);
        Assert.Contains("\nSources:\n[1] base-passwd-README.txt:", a.Out);
        var json = JsonNode.Parse(a.Out.Trim().Split('\n')[^1])!;
        Assert.True(json["found"]!.GetValue<bool>());
        Assert.Equal(4, json["sources"]!.AsArray().Count);
        var none = CliTests.Run("rag", "ask", index, "What is the airspeed velocity of an unladen swallow?", "--model", lm);
        Assert.True(none.Code == 0, none.Out + none.Err);
        Assert.StartsWith("not found in the sources", none.Out);
        Assert.DoesNotContain("Sources:", none.Out);
        CliTests.AssertOneLineError(CliTests.Run("rag", "ask", Path.Combine(dir, "nothing"), "q?", "--model", lm), 1, "no index there");
        CliTests.AssertOneLineError(CliTests.Run("rag", "frob", docs), 2, "unknown rag action");
    }
}
