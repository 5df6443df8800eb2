using System.Buffers.Binary;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary>Starting and stopping, the loaded-model limits (count and memory budget), and <c>gensharp serve</c>'s usage errors.</summary>
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

    /// <summary>
    /// What the qwen2 fixture must count as, from its files alone: every tensor of model.safetensors in float32 (its head
    /// is tied, it has no buffers), and a KV cache allowance of 2 (K, V) × layers × KV heads × head width × 4 bytes per
    /// token, for min(context, 4096) tokens × 16 sequences (the default batch rows).
    /// </summary>
    static (long Weights, long KvCache) QwenFootprint()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "HfReference", "qwen2");
        var file = File.ReadAllBytes(Path.Combine(dir, "model.safetensors"));
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(file);
        var header = JsonNode.Parse(file.AsSpan(8, (int)headerLength))!.AsObject();
        long weights = header.Where(kv => kv.Key != "__metadata__")
            .Sum(kv => kv.Value!["shape"]!.AsArray().Aggregate(1L, (n, d) => n * (long)d!) * sizeof(float));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        long layers = (long)config["num_hidden_layers"]!, kvHeads = (long)config["num_key_value_heads"]!;
        long headDim = (long)config["hidden_size"]! / (long)config["num_attention_heads"]!;
        long context = (long)config["max_position_embeddings"]!;
        return (weights, 2 * layers * kvHeads * headDim * sizeof(float) * Math.Min(context, 4096) * 16);
    }

    static async Task<Dictionary<string, double>> Metrics(HttpClient http) =>
        (await http.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));

    [Fact]
    public async Task ABudgetForOneModelUnloadsTheFirstWhenTheSecondIsUsed()
    {
        var (weights, kv) = QwenFootprint();
        long one = weights + kv;
        var dir = TwoModels();
        // Room for one and a half models, any number of them: the budget, not the count, unloads a.
        await using (var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = dir, Port = 0, MaxLoadedModels = 10, MemoryBudgetBytes = one * 3 / 2 }))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            var first = await Complete(http, "a");
            Assert.Equal(new ModelFootprint(weights, kv), server.Models.FootprintOf("a"));
            Assert.Equal(one, server.Models.LoadedBytes);
            var m = await Metrics(http);
            Assert.Equal(one, m["gensharp_models_loaded_bytes"]);
            Assert.Equal(one * 3 / 2, m["gensharp_memory_budget_bytes"]);
            Assert.Equal(first, await Complete(http, "b"));
            Assert.Equal(new[] { "b" }, server.Models.LoadedNames);
            Assert.Equal(one, (await Metrics(http))["gensharp_models_loaded_bytes"]);
            Assert.Equal(first, await Complete(http, "a"));                         // measured before: b makes room first
            Assert.Equal(new[] { "a" }, server.Models.LoadedNames);
        }
        // Room for both: both stay.
        await using (var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = dir, Port = 0, MaxLoadedModels = 10, MemoryBudgetBytes = one * 2 }))
        {
            using var http = new HttpClient { BaseAddress = server.BaseAddress };
            await Complete(http, "a");
            await Complete(http, "b");
            Assert.Equal(new[] { "b", "a" }, server.Models.LoadedNames);
            Assert.Equal(2 * one, (await Metrics(http))["gensharp_models_loaded_bytes"]);
        }
    }

    [Fact]
    public async Task AModelLargerThanTheWholeBudgetIsRefusedNamingTheFlag()
    {
        var (weights, kv) = QwenFootprint();
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TwoModels(), Port = 0, MemoryBudgetBytes = weights + kv - 1 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        for (int attempt = 0; attempt < 2; attempt++)                                  // measured by loading, then known without loading
        {
            using var r = await http.PostAsJsonAsync("/v1/completions", new { model = "a", prompt = "hi", max_tokens = 5 });
            Assert.Equal(507, (int)r.StatusCode);
            var error = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!;
            Assert.Equal("model_too_large", (string?)error["code"]);
            Assert.Equal("model", (string?)error["param"]);
            Assert.Equal("server_error", (string?)error["type"]);
            Assert.Contains("--memory-budget", (string)error["message"]!);
            Assert.Contains("model 'a' needs about", (string)error["message"]!);
            Assert.Empty(server.Models.LoadedNames);
        }
        Assert.Equal(0, (await Metrics(http))["gensharp_models_loaded_bytes"]);
    }

    [Fact]
    public async Task WithoutABudgetHalfTheMemoryIsTheBudget()
    {
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = TwoModels(), Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        long expected = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;
        Assert.Equal(expected, server.Models.MemoryBudget);
        Assert.Equal(expected, (await Metrics(http))["gensharp_memory_budget_bytes"]);
    }

    [Theory]
    [InlineData("2GB", 2L << 30)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("800KiB", 800L << 10)]
    [InlineData(" 64 mb ", 64L << 20)]
    [InlineData("1048576", 1048576L)]
    public void SizesParse(string text, long bytes) => Assert.Equal(bytes, ServerOptions.ParseBytes("memory_budget", text));

    [Theory]
    [InlineData("lots")]
    [InlineData("0")]
    [InlineData("-1GB")]
    [InlineData("2PB")]
    [InlineData("GB")]
    [InlineData("NaNGB")]
    public void BadSizesAreParameterErrors(string text)
    {
        var e = Assert.Throws<ParameterException>(() => ServerOptions.ParseBytes("memory_budget", text));
        Assert.Equal("memory_budget", e.Parameter);
        Assert.Contains("such as 2GB", e.Message);
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
    [Fact] public void ServeBadMemoryBudget() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--memory-budget", "lots", "--port", "0"), 1, "--memory-budget must be a positive size such as 2GB, 512MB or 1.5GB, got 'lots'");
    [Fact] public void ServeBadDrainSeconds() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--drain-seconds", "-1", "--port", "0"), 1, "--drain-seconds must be ≥ 0");
    [Fact] public void ServeBadConcurrency() => CliTests.AssertOneLineError(CliTests.Run("serve", "--models", TwoModels(), "--max-concurrent", "0", "--port", "0"), 1, "--max-concurrent");

    [Fact]
    public void ServeHelpDescribesTheOperationalOptions()
    {
        var r = CliTests.Run("serve", "--help");
        Assert.Equal(0, r.Code);
        foreach (var option in new[] { "--memory-budget", "--drain-seconds", "--api-key-file", "--max-concurrent", "--max-queue", "--rate-limit", "--max-total-tokens", "--max-images", "--cors", "--log-prompts" })
            Assert.Contains(option, r.Out);
    }
}
