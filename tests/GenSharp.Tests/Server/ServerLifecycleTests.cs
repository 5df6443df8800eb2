using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Starting and stopping, the loaded-model limit, and <c>gensharp serve</c>'s usage errors.</summary>
[Collection("Console")]
public class ServerLifecycleTests
{
    /// <summary>A models folder with two copies of the tiny qwen2 fixture, <c>a</c> and <c>b</c>.</summary>
    static string TwoModels()
    {
        var dir = TestData.TempDir();
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "HfReference", "qwen2");
        foreach (var name in new[] { "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(dir, name));
            foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json" })
                File.Copy(Path.Combine(fixture, file), Path.Combine(dir, name, file));
        }
        return dir;
    }

    static async Task<string> Complete(HttpClient http, string model)
    {
        using var r = await http.PostAsJsonAsync("/v1/completions", new { model, prompt = "hi", max_tokens = 5, seed = 4 });
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        return (string)JsonNode.Parse(await r.Content.ReadAsStringAsync())!["choices"]![0]!["text"]!;
    }

    [Fact]
    public async Task LeastRecentlyUsedModelIsUnloadedAndReloadsTheSame()
    {
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TwoModels(), Port = 0, MaxLoadedModels = 1 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Empty(server.Models.LoadedNames);                                    // nothing loads before it is asked for
        var first = await Complete(http, "a");
        Assert.Equal(new[] { "a" }, server.Models.LoadedNames);
        var other = await Complete(http, "b");
        Assert.Equal(new[] { "b" }, server.Models.LoadedNames);
        Assert.Equal(first, other);                                                 // same weights, same seed
        Assert.Equal(first, await Complete(http, "a"));                             // unloaded, loaded again: same text
        Assert.Equal(new[] { "a" }, server.Models.LoadedNames);
    }

    [Fact]
    public async Task StopsListening()
    {
        var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TwoModels(), Port = 0 });
        Assert.Equal("127.0.0.1", server.BaseAddress.Host);                        // loopback by default
        Assert.NotEqual(0, server.BaseAddress.Port);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Contains("ok", await http.GetStringAsync("/health"));
        await server.DisposeAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetStringAsync("/health"));
    }

    [Fact]
    public async Task BadOptionsAreParameterErrors()
    {
        var e = await Assert.ThrowsAsync<ParameterException>(() => GenSharpServer.StartAsync(new ServerOptions { ModelsDir = "/nonexistent/models", Port = 0 }));
        Assert.Equal("models", e.Parameter);
        e = await Assert.ThrowsAsync<ParameterException>(() => GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TwoModels(), Port = 70000 }));
        Assert.Equal("port", e.Parameter);
    }

    [Fact] public void ServeWithoutModels() => CliTests.AssertOneLineError(CliTests.Run("serve"), 1, "--models is required");
    [Fact] public void ServeMissingFolder() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", "/nonexistent/models", "--port", "0"), 1, "--models '/nonexistent/models' is not a folder");
    [Fact] public void ServeBadHost() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--host", "nowhere.example", "--port", "0"), 1, "--host");
    [Fact] public void ServeMissingKeyFile() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--api-key-file", "/nonexistent/keys", "--port", "0"), 1, "--api-key-file '/nonexistent/keys' is not a file");
    [Fact] public void ServeBadCors() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--cors", "*", "--port", "0"), 1, "--cors");
    [Fact] public void ServeBadConcurrency() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--max-concurrent", "0", "--port", "0"), 1, "--max-concurrent");

    [Fact]
    public void ServeHelpDescribesTheOperationalOptions()
    {
        var r = CliTests.Run("serve", "--help");
        Assert.Equal(0, r.Code);
        foreach (var option in new[] { "--api-key-file", "--max-concurrent", "--max-queue", "--rate-limit", "--max-total-tokens", "--max-images", "--cors", "--log-prompts" })
            Assert.Contains(option, r.Out);
    }
}
