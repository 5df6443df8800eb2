using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Rag;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary>GET /v1/rag and POST /v1/rag/{index}/ask: retrieval, extractive and model answers with citations, "not found", and 4xx errors.</summary>
public class ServerRagTests
{
    static async Task<(int Status, JsonNode Body)> Post(HttpClient http, string url, JsonObject body)
    {
        using var r = await http.PostAsync(url, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        return ((int)r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
    }

    [Fact]
    public async Task AskAnswersWithCitedSourcesOrNotFoundAndRefusesBadRequests()
    {
        var models = TestData.TempDir();
        var docs = Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs");
        Assert.Equal(0, CliTests.Run("rag", "ingest", docs, "--index", Path.Combine(models, "docs"), "--chunk-tokens", "32", "--overlap", "4").Code);
        // A tiny character-level gpt whose context holds a grounded prompt with one 32-token source.
        var text = Path.Combine(TestData.TempDir(), "lm.txt");
        // (Its characters are those of the document and of the prompt's own words and markers, so every prompt here encodes.)
        File.WriteAllText(text, string.Concat(Enumerable.Repeat(File.ReadAllText(Path.Combine(docs, "base-passwd-README.txt")), 15)) +
                                RagAnswer.Prompt("Which range of user ids does Debian reserve? 0123456789", new[] { new Chunk("base-passwd-README.txt", 1, 2, "", "x") }));
        var t = CliTests.Run("train", "gpt", "--out", Path.Combine(models, "lm"), "--data", text, "--steps", "1", "--batch-size", "2",
            "--set", "n_layer=1", "--set", "n_embd=16", "--set", "n_head=2", "--set", "block_size=1024");
        Assert.True(t.Code == 0, t.Out + t.Err);
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = models, Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

        var list = JsonNode.Parse(await http.GetStringAsync("/v1/rag"))!;
        Assert.Equal("docs", list["data"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("all-MiniLM-L6-v2", list["data"]![0]!["embedder"]!.GetValue<string>());

        // Without a model: the closest source sentence, cited; every source comes back with its span and text.
        var (status, body) = await Post(http, "/v1/rag/docs/ask", new JsonObject { ["question"] = "Which range of user ids does Debian reserve?" });
        Assert.Equal(200, status);
        Assert.True(body["found"]!.GetValue<bool>());
        var sources = body["sources"]!.AsArray();
        Assert.Equal(4, sources.Count);
        Assert.Equal("base-passwd-README.txt", sources[0]!["path"]!.GetValue<string>());
        var answer = body["answer"]!.GetValue<string>();
        var cite = AnswerSupport.Citations(answer);
        Assert.Single(cite);
        Assert.Contains(answer[..answer.LastIndexOf('[')].Trim(), sources[cite[0] - 1]!["text"]!.GetValue<string>());
        Assert.Equal(sources[0]!["span"]!.GetValue<string>(), $"base-passwd-README.txt:{sources[0]!["start"]}-{sources[0]!["end"]}");

        // With a model: its greedy completion of the grounded prompt, the same text /v1/completions gives for that prompt.
        var ask = new JsonObject { ["question"] = "Which range of user ids does Debian reserve?", ["model"] = "lm", ["top_k"] = 1, ["max_tokens"] = 12 };
        (status, body) = await Post(http, "/v1/rag/docs/ask", ask);
        Assert.True(status == 200, body.ToJsonString());
        Assert.Equal("lm", body["model"]!.GetValue<string>());
        var one = body["sources"]!.AsArray();
        Assert.Single(one);
        var chunk = new Chunk(one[0]!["path"]!.GetValue<string>(), one[0]!["start"]!.GetValue<int>(), one[0]!["end"]!.GetValue<int>(),
                              one[0]!["heading"]!.GetValue<string>(), one[0]!["text"]!.GetValue<string>());
        var (cs, completion) = await Post(http, "/v1/completions", new JsonObject
        {
            ["model"] = "lm", ["prompt"] = RagAnswer.Prompt("Which range of user ids does Debian reserve?", new[] { chunk }), ["max_tokens"] = 12,
            ["temperature"] = 0, ["stop"] = new JsonArray("\nQuestion:"),
        });
        Assert.Equal(200, cs);
        Assert.Equal(completion["choices"]![0]!["text"]!.GetValue<string>().Trim(), body["answer"]!.GetValue<string>());

        // A metadata filter: the same question restricted to other sources cites only them.
        (status, body) = await Post(http, "/v1/rag/docs/ask", new JsonObject
            { ["question"] = "Which range of user ids does Debian reserve?", ["source"] = new JsonArray("procps-*", "systemd-*"), ["threshold"] = -1 });
        Assert.Equal(200, status);
        Assert.NotEmpty(body["sources"]!.AsArray());
        Assert.All(body["sources"]!.AsArray(), src => Assert.Matches("^(procps-|systemd-)", src!["path"]!.GetValue<string>()));

        // Nothing relevant: "not found", no sources, no model asked.
        (status, body) = await Post(http, "/v1/rag/docs/ask", new JsonObject { ["question"] = "What is the airspeed velocity of an unladen swallow?", ["model"] = "lm" });
        Assert.Equal(200, status);
        Assert.False(body["found"]!.GetValue<bool>());
        Assert.Equal(RagAnswer.NotFound, body["answer"]!.GetValue<string>());
        Assert.Empty(body["sources"]!.AsArray());

        // Bad requests: one readable message each.
        async Task Refused(string url, JsonObject b, int code, string fragment)
        {
            var (s, e) = await Post(http, url, b);
            Assert.Equal(code, s);
            Assert.Contains(fragment, e["error"]!["message"]!.GetValue<string>());
        }
        await Refused("/v1/rag/nothing/ask", new JsonObject { ["question"] = "q?" }, 404, "no RAG index 'nothing'");
        await Refused("/v1/rag/docs/ask", new JsonObject(), 400, "question is required");
        await Refused("/v1/rag/docs/ask", new JsonObject { ["question"] = "q?", ["mode"] = "fuzzy" }, 400, "mode 'fuzzy'");
        await Refused("/v1/rag/docs/ask", new JsonObject { ["question"] = "q?", ["source"] = 3 }, 400, "source must be a string or an array of strings");
        await Refused("/v1/rag/docs/ask", new JsonObject { ["question"] = "q?", ["source"] = "" }, 400, "a source filter must not be empty");
        await Refused("/v1/rag/docs/ask", new JsonObject { ["question"] = "q?", ["top_k"] = 50 }, 400, "top_k");
        await Refused("/v1/rag/docs/ask", new JsonObject { ["question"] = "Which range of user ids does Debian reserve?", ["model"] = "nope" }, 404, "'nope' does not exist");
        await Refused("/v1/rag/..%2Fdocs/ask", new JsonObject { ["question"] = "q?" }, 400, "not an index name");
    }
}
