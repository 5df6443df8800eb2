using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// One in-process server on an ephemeral port over a models folder holding a tiny gpt trained on plain-template
/// dialogue (<c>chat</c>, context 64, character tokenizer), the tiny Hugging Face qwen2 fixture (<c>qwen2</c>, context
/// 64, byte-level BPE), a tiny class-conditional DCGAN trained for two steps on embedded Fashion-MNIST (<c>gan</c>,
/// 28×28), a folder that is no model, and a training run folder that is no model yet (<c>vae-run</c>:
/// the metrics.jsonl and sample grids of a tiny vae run, without its checkpoint) for the playground's run API, and the RAG
/// index <c>docs</c> (<c>docs.rag.sqlite</c>) over the RagDocs fixture.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public string ModelsDir { get; } = TestData.TempDir();
    public GenSharpServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string BaseUrl => Server.BaseAddress.ToString().TrimEnd('/');

    public string ChatModelDir => Path.Combine(ModelsDir, "chat");
    public string QwenDir => Path.Combine(ModelsDir, "qwen2");
    public string GanDir => Path.Combine(ModelsDir, "gan");

    /// <summary>A class-conditional DCGAN run folder (10 Fashion-MNIST classes, 28×28), trained for two steps.</summary>
    internal static string TinyConditionalGan()
    {
        var run = Path.Combine(TestData.TempDir(), "gan");
        var t = CliTests.Run("train", "dcgan", "--out", run, "--data", "embedded", "--steps", "2", "--batch-size", "8",
            "--set", "conditional=true", "--set", "generator_channels=4", "--set", "discriminator_channels=4", "--set", "latent_dim=8");
        Assert.True(t.Code == 0, t.Err);
        return run;
    }

    public string VaeRunDir => Path.Combine(ModelsDir, "vae-run");

    /// <summary>The RAG index <c>docs</c> (the RagDocs fixture, 64-token chunks) for the playground's ask page.</summary>
    public string RagIndex => Path.Combine(ModelsDir, "docs");

    public async Task InitializeAsync()
    {
        var run = ChatCliTests.TinyChatCheckpoint();
        CopyDir(run, ChatModelDir);
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "HfReference", "qwen2");
        Directory.CreateDirectory(QwenDir);
        foreach (var f in new[] { "config.json", "model.safetensors", "tokenizer.json" })
            File.Copy(Path.Combine(fixture, f), Path.Combine(QwenDir, f));
        CopyDir(TinyConditionalGan(), GanDir);
        Directory.CreateDirectory(Path.Combine(ModelsDir, "notes"));
        File.WriteAllText(Path.Combine(ModelsDir, "notes", "readme.txt"), "not a model");
        var vae = TinyImageRun();
        Directory.CreateDirectory(VaeRunDir);
        File.Copy(Path.Combine(vae, "metrics.jsonl"), Path.Combine(VaeRunDir, "metrics.jsonl"));
        CopyDir(Path.Combine(vae, "samples"), Path.Combine(VaeRunDir, "samples"));
        var rag = CliTests.Run("rag", "ingest", Path.Combine(AppContext.BaseDirectory, "Fixtures", "RagDocs"), "--index", RagIndex, "--chunk-tokens", "64", "--overlap", "8");
        Assert.True(rag.Code == 0, rag.Err);
        Server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = ModelsDir, Port = 0, MaxRequestBodyBytes = 64 * 1024 });
        Http = new HttpClient { BaseAddress = Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>A tiny vae trained for 100 steps: metrics rows at steps 50 and 100, sample grids every 50 steps.</summary>
    static string TinyImageRun()
    {
        var run = Path.Combine(TestData.TempDir(), "vae");
        var t = CliTests.Run("train", "vae", "--out", run, "--data", "embedded", "--steps", "100", "--batch-size", "8", "--limit", "200",
                             "--set", "latent_dim=2", "--set", "channels=4", "--set", "hidden=8", "--sample-every", "50");
        Assert.True(t.Code == 0, t.Err);
        return run;
    }

    internal static void CopyDir(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>POSTs a raw body; returns the status and the body text.</summary>
    public async Task<(int Status, string Body)> Post(string path, string json)
    {
        using var r = await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    public async Task<(int Status, JsonObject Body)> PostJson(string path, JsonObject body)
    {
        var (status, text) = await Post(path, body.ToJsonString());
        return (status, JsonNode.Parse(text)!.AsObject());
    }
}

[CollectionDefinition("Server")]
public sealed class ServerCollection : ICollectionFixture<ServerFixture> { }
