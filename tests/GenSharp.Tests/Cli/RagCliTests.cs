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
        var filtered = CliTests.Run("rag", "ask", index, "Which range of user ids does Debian reserve?", "--model", lm, "--max-tokens", "4",
            "--source", "procps-*", "--source", "systemd-*", "--threshold", "-1");
        Assert.True(filtered.Code == 0, filtered.Out + filtered.Err);
        Assert.All(JsonNode.Parse(filtered.Out.Trim().Split('\n')[^1])!["sources"]!.AsArray(),
            src => Assert.Matches("^(procps-|systemd-)", src!["path"]!.GetValue<string>()));
        CliTests.AssertOneLineError(CliTests.Run("rag", "ask", index, "q?", "--model", lm, "--source", "*.pdf"), 1, "holds no source matching source *.pdf");
        // A Hugging Face folder answers through a chat template when asked for one (or when its folder has a recognised
        // chat_template); this tiny one has none, so by default the grounded prompt is continued as text.
        var config = HfModelTests.LlamaConfig("qwen2", heads: 4, kvHeads: 2, tied: true);
        string qwen;
        using (var m = HfModelTests.RandomModel(config)) qwen = HfModelTests.Save(m, config);
        foreach (var (extra, expected) in new[] { (Array.Empty<string>(), "text"), (new[] { "--template", "chatml" }, "chat:chatml") })
        {
            var asked = CliTests.Run(new[] { "rag", "ask", index, "Which range of user ids does Debian reserve?", "--model", qwen, "--max-tokens", "3" }.Concat(extra).ToArray());
            Assert.True(asked.Code == 0, asked.Out + asked.Err);
            Assert.Equal(expected, (string)JsonNode.Parse(asked.Out.Trim().Split('\n')[^1])!["prompt"]!);
        }
        CliTests.AssertOneLineError(CliTests.Run("rag", "ask", Path.Combine(dir, "nothing"), "q?", "--model", lm), 1, "no index there");
        CliTests.AssertOneLineError(CliTests.Run("rag", "frob", docs), 2, "unknown rag action");
    }

    [Fact]
    public void EvalScoresEachRetrievalModeAndRefusesGoldSpansOfOtherFiles()
    {
        var dir = TestData.TempDir();
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        var index = Path.Combine(dir, "docs");
        Assert.Equal(0, CliTests.Run("rag", "ingest", docs, "--index", index, "--chunk-tokens", "64", "--overlap", "8").Code);
        string Sha(string f) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(docs, f))));
        int LineOf(string f, string words) => Array.FindIndex(File.ReadAllLines(Path.Combine(docs, f)), l => l.Contains(words)) + 1;
        string Gold(string f, string words, string? sha = null) =>
            $$"""[{"path":"{{f}}","start":{{LineOf(f, words)}},"end":{{LineOf(f, words)}},"sha256":"{{sha ?? Sha(f)}}"}]""";
        var qa = Path.Combine(dir, "qa.jsonl");
        File.WriteAllLines(qa, new[]
        {
            $$"""{"id":"uids","question":"Which range of user ids does Debian reserve?","gold":{{Gold("base-passwd-README.txt", "0-99 range")}}}""",
            $$"""{"id":"ntp","question":"Which NTP servers does systemd-timesyncd use by default?","gold":{{Gold("systemd-DISTRO_PORTING.md", "Google Public NTP")}}}""",
            """{"id":"none","question":"What is the airspeed velocity of an unladen swallow?","answerable":false}""",
        });
        var outFile = Path.Combine(dir, "each.jsonl");
        var r = CliTests.Run("rag", "eval", index, "--qa", qa, "--mode", "all", "--model", "extractive", "--out", outFile);
        Assert.True(r.Code == 0, r.Out + r.Err);
        var json = JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!;
        var modes = json["modes"]!.AsArray();
        Assert.Equal(new[] { "keyword", "vector", "hybrid" }, modes.Select(m => m!["mode"]!.GetValue<string>()));
        var hybrid = modes[2]!;
        Assert.Equal(1.0, hybrid["recall_at_10"]!.GetValue<double>());
        Assert.Equal(1.0, hybrid["not_found_accuracy"]!.GetValue<double>());
        Assert.Equal(1.0, hybrid["faithfulness"]!.GetValue<double>());
        Assert.Equal(9, File.ReadAllLines(outFile).Length);   // 3 questions × 3 modes
        Assert.Contains("hybrid", r.Out);

        // Gold spans are line numbers in particular files: another version of the file, or a file the index lacks, is refused.
        var stale = Path.Combine(dir, "stale.jsonl");
        File.WriteAllText(stale, $$"""{"id":"uids","question":"q?","gold":{{Gold("base-passwd-README.txt", "0-99 range", "00FF")}}}""" + "\n");
        CliTests.AssertOneLineError(CliTests.Run("rag", "eval", index, "--qa", stale), 1, "another version of base-passwd-README.txt");
        var missing = Path.Combine(dir, "missing.jsonl");
        File.WriteAllText(missing, """{"id":"x","question":"q?","gold":[{"path":"nowhere.md","start":1,"end":2}]}""" + "\n");
        CliTests.AssertOneLineError(CliTests.Run("rag", "eval", index, "--qa", missing), 1, "does not hold nowhere.md");
        CliTests.AssertOneLineError(CliTests.Run("rag", "eval", index), 2, "--qa");
        CliTests.AssertOneLineError(CliTests.Run("rag", "eval", index, "--qa", qa, "--mode", "fuzzy"), 2, "unknown --mode 'fuzzy'");
    }
}
