using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Microsoft.Extensions.AI;
using OpenAI;
using Xunit;

namespace GenSharp.Tests;

/// <summary>POST /v1/embeddings through the official OpenAI SDK (which asks for base64) and plain HTTP (float arrays).</summary>
public class ServerEmbeddingTests
{
    static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "BertReference");

    static string ModelsWithTinySentenceTransformer()
    {
        var models = TestData.TempDir();
        var dst = Path.Combine(models, "tiny-st");
        foreach (var file in Directory.EnumerateFiles(Path.Combine(Fixture, "st_cls"), "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(dst, Path.GetRelativePath(Path.Combine(Fixture, "st_cls"), file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return models;
    }

    static float[][] Expected(out string[] sentences)
    {
        var e = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture, "expected.json")))!;
        sentences = e["sentences"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray();
        return e["st_cls_embeddings"]!.AsArray().Select(r => r!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray()).ToArray();
    }

    [Fact]
    public async Task SdkAndHttpEmbeddingsAreTransformersOnes()
    {
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = ModelsWithTinySentenceTransformer(), Port = 0 });
        var expected = Expected(out var sentences);
        var inputs = sentences.Where(s => s.Length > 0).ToArray();                    // OpenAI refuses empty strings; leave the empty one out
        var want = sentences.Select((s, i) => (s, i)).Where(p => p.s.Length > 0).Select(p => expected[p.i]).ToArray();

        // The official SDK (base64 on the wire).
        var client = new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        var result = (await client.GetEmbeddingClient("tiny-st").GenerateEmbeddingsAsync(inputs)).Value;
        Assert.Equal(inputs.Length, result.Count);
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = result[i].ToFloats().ToArray();
            Assert.Equal(i, result[i].Index);
            Assert.Equal(32, v.Length);
            Assert.True(v.Zip(want[i], (a, b) => Math.Abs(a - b)).Max() < 1e-5, $"text {i}");
        }
        Assert.True(result.Usage.InputTokenCount > inputs.Length * 2);

        // Microsoft.Extensions.AI's OpenAI adapter over the same endpoint.
        using IEmbeddingGenerator<string, Embedding<float>> gen = client.GetEmbeddingClient("tiny-st").AsIEmbeddingGenerator();
        var viaMeai = await gen.GenerateAsync(inputs);
        Assert.True(viaMeai[0].Vector.ToArray().Zip(want[0], (a, b) => Math.Abs(a - b)).Max() < 1e-5);

        // Plain HTTP with float arrays; errors in OpenAI's shape.
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        async Task<(HttpStatusCode, JsonNode)> Post(string json)
        {
            var r = await http.PostAsync("/v1/embeddings", new StringContent(json, Encoding.UTF8, "application/json"));
            return (r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync())!);
        }
        var (ok, body) = await Post("""{"model": "tiny-st", "input": "The cat sat on the mat.", "encoding_format": "float"}""");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal("list", body["object"]!.GetValue<string>());
        var floats = body["data"]![0]!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        Assert.True(floats.Zip(expected[0], (a, b) => Math.Abs(a - b)).Max() < 1e-5);
        var (nf, nfBody) = await Post("""{"model": "nope", "input": "x"}""");
        Assert.Equal(HttpStatusCode.NotFound, nf);
        Assert.Contains("no embedding model 'nope'", nfBody["error"]!["message"]!.GetValue<string>());
        var (bad, badBody) = await Post("""{"model": "tiny-st", "input": "x", "dimensions": 8}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("dimensions", badBody["error"]!["param"]!.GetValue<string>());
        var (missing, _) = await Post("""{"model": "tiny-st"}""");
        Assert.Equal(HttpStatusCode.BadRequest, missing);
    }

    [Fact]
    public async Task BuiltInMiniLmNeedsNoFolder()
    {
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TestData.TempDir(), Port = 0 });
        var client = new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
        var r = (await client.GetEmbeddingClient("minilm").GenerateEmbeddingsAsync(new[] { "A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell." })).Value;
        var v = r.Select(e => e.ToFloats().ToArray()).ToArray();
        Assert.All(v, x => Assert.Equal(384, x.Length));
        Assert.All(v, x => Assert.InRange(Math.Sqrt(x.Sum(a => (double)a * a)), 0.9999, 1.0001));
        double Cos(int a, int b) => v[a].Zip(v[b], (x, y) => (double)x * y).Sum();
        Assert.True(Cos(0, 1) > Cos(0, 2) + 0.3);
    }
}
