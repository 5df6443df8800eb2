using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Microsoft.Extensions.Logging;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// API keys, rate and concurrency limits, the n × max_tokens cap, CORS, prompt-free logs, and malformed bodies. Each case
/// that needs its own settings starts its own server over the fixture's models folder.
/// </summary>
[Collection("Server")]
public class ServerSecurityTests(ServerFixture f)
{
    async Task<(GenSharpServer Server, HttpClient Http)> Start(ServerOptions options, Action<ILoggingBuilder>? logging = null)
    {
        var server = await GenSharpServer.StartAsync(options with { ModelsDir = f.ModelsDir, Port = 0 }, logging);
        return (server, new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(1) });
    }

    static ServerOptions Options() => new() { ModelsDir = "" };

    static HttpRequestMessage Get(string path, string? bearer = null, string? xApiKey = null)
    {
        var r = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null) r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        if (xApiKey is not null) r.Headers.Add("X-Api-Key", xApiKey);
        return r;
    }

    static async Task<JsonNode> Error(HttpResponseMessage r)
    {
        var error = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!;
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        return error;
    }

    string KeyFile(params string[] lines)
    {
        var path = Path.Combine(TestData.TempDir(), "keys.txt");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task ApiKeysAreNeededByBearerOrHeaderButNotForHealth()
    {
        var (server, http) = await Start(Options() with { ApiKeyFile = KeyFile("# ops", "sk-alpha", "", "  sk-beta  ") });
        await using var _ = server;
        using var __ = http;
        using (var r = await http.SendAsync(Get("/v1/models")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            var e = await Error(r);
            Assert.Equal("authentication_error", (string?)e["type"]);
            Assert.Equal("invalid_api_key", (string?)e["code"]);
        }
        foreach (var wrong in new[] { "sk-alph", "sk-alpha2", "# ops", "SK-ALPHA" })
            using (var r = await http.SendAsync(Get("/v1/models", bearer: wrong)))
                Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var r = await http.SendAsync(Get("/metrics")))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        using (var r = await http.SendAsync(Get("/v1/models", bearer: "sk-alpha"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.SendAsync(Get("/v1/models", xApiKey: "sk-beta"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.SendAsync(Get("/health"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        // The playground's page loads without a key (it asks for one); its API calls and the run files still need it.
        using (var r = await http.SendAsync(Get("/"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.SendAsync(Get("/v1/gensharp/runs"))) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var post = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        using (var r = await http.SendAsync(post)) Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
    }

    [Fact]
    public void AKeyFileWithoutKeysIsAParameterError()
    {
        var e = Assert.Throws<ParameterException>(() => ApiKeys.Load(KeyFile("# nothing", "")));
        Assert.Equal("api_key_file", e.Parameter);
    }

    [Fact]
    public async Task EachKeyHasItsOwnRateLimit()
    {
        var (server, http) = await Start(Options() with { ApiKeyFile = KeyFile("k1", "k2"), RateLimitPerMinute = 2 });
        await using var _ = server;
        using var __ = http;
        for (int i = 0; i < 2; i++)
            using (var r = await http.SendAsync(Get("/v1/models", bearer: "k1"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.SendAsync(Get("/v1/models", bearer: "k1")))
        {
            Assert.Equal((HttpStatusCode)429, r.StatusCode);
            Assert.InRange(r.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
            Assert.Equal("rate_limit_exceeded", (string?)(await Error(r))["code"]);
        }
        using (var r = await http.SendAsync(Get("/v1/models", xApiKey: "k2"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await http.SendAsync(Get("/health"))) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    /// <summary>A body that sends its first bytes, then waits for <see cref="Release"/> before the rest.</summary>
    sealed class StalledBody(string json) : HttpContent
    {
        readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        readonly byte[] _bytes = Encoding.UTF8.GetBytes(json);
        public StalledBody Init() { Headers.ContentType = new MediaTypeHeaderValue("application/json"); return this; }
        public void Release() => _release.TrySetResult();
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_bytes.AsMemory(0, 5));
            await stream.FlushAsync();
            await _release.Task;
            await stream.WriteAsync(_bytes.AsMemory(5));
        }
        protected override bool TryComputeLength(out long length) { length = _bytes.Length; return true; }
    }

    static async Task Until(Func<bool> condition)
    {
        for (int i = 0; i < 400 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition(), "timed out waiting for the server");
    }

    static long Gauge(GenSharpServer s, string name) =>
        long.Parse(s.Metrics.Render().Split('\n').Single(l => l.StartsWith(name + " "))[(name.Length + 1)..]);

    [Fact]
    public async Task AFullQueueIsA429WithRetryAfterAndTheQueueDrains()
    {
        var (server, http) = await Start(Options() with { MaxConcurrentRequests = 1, MaxQueuedRequests = 1 });
        await using var _ = server;
        using var __ = http;
        var first = new StalledBody("{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}").Init();
        var running = http.PostAsync("/v1/chat/completions", first);
        await Until(() => Gauge(server, "gensharp_running_requests") == 1);
        var queued = http.GetAsync("/v1/models");
        await Until(() => Gauge(server, "gensharp_queue_depth") == 1);
        using (var r = await http.GetAsync("/v1/models"))
        {
            Assert.Equal((HttpStatusCode)429, r.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), r.Headers.RetryAfter!.Delta);
            Assert.Equal("server_busy", (string?)(await Error(r))["code"]);
        }
        using (var r = await http.GetAsync("/health")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        first.Release();
        using (var r = await running) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await queued) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(0, Gauge(server, "gensharp_queue_depth"));
        Assert.Equal(0, Gauge(server, "gensharp_running_requests"));
    }

    [Fact]
    public async Task ChoicesTimesMaxTokensOverTheCapIsA400()
    {
        var (status, body) = await f.Post("/v1/completions", "{\"model\":\"chat\",\"prompt\":\"hi\",\"n\":16,\"max_tokens\":4096}");
        Assert.Equal(400, status);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("n", (string?)error["param"]);
        Assert.Equal("request_too_large", (string?)error["code"]);
        Assert.Contains("65536", (string)error["message"]!);
        (status, _) = await f.Post("/v1/chat/completions", "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":9,\"max_tokens\":4096}");
        Assert.Equal(400, status);
    }

    static async Task<HttpResponseMessage> Preflight(HttpClient http, string origin)
    {
        var r = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        r.Headers.Add("Origin", origin);
        r.Headers.Add("Access-Control-Request-Method", "POST");
        r.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return await http.SendAsync(r);
    }

    static async Task<HttpResponseMessage> GetFrom(HttpClient http, string origin)
    {
        var r = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        r.Headers.Add("Origin", origin);
        return await http.SendAsync(r);
    }

    [Fact]
    public async Task CorsIsOffUnlessAnOriginIsGiven()
    {
        using (var r = await Preflight(f.Http, "https://play.example")) Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
        using (var r = await GetFrom(f.Http, "https://play.example")) Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
        var (server, http) = await Start(Options() with { CorsOrigin = "https://play.example" });
        await using var _ = server;
        using var __ = http;
        using (var r = await Preflight(http, "https://play.example"))
        {
            Assert.True(r.IsSuccessStatusCode);
            Assert.Equal("https://play.example", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
        using (var r = await GetFrom(http, "https://play.example"))
            Assert.Equal("https://play.example", r.Headers.GetValues("Access-Control-Allow-Origin").Single());
        using (var r = await Preflight(http, "https://evil.example")) Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
        using (var r = await GetFrom(http, "https://evil.example")) Assert.False(r.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Throws<ParameterException>(() => (Options() with { ModelsDir = f.ModelsDir, CorsOrigin = "play.example/x" }).Validate());
    }

    /// <summary>Collects every log line at every level.</summary>
    sealed class Capture : ILoggerProvider, ILogger
    {
        public readonly ConcurrentQueue<string> Lines = new();
        public ILogger CreateLogger(string category) => this;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel level) => true;
        public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format) =>
            Lines.Enqueue(format(state, e) + e);
        public void Dispose() { }
    }

    async Task<string> LogOf(bool logPrompts)
    {
        var capture = new Capture();
        var (server, http) = await Start(Options() with { LogPrompts = logPrompts }, l => l.AddProvider(capture).SetMinimumLevel(LogLevel.Trace));
        await using (server)
        using (http)
        {
            foreach (var (path, body) in new[]
            {
                ("/v1/chat/completions", "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"brief hello\"}],\"max_tokens\":2}"),
                ("/v1/completions", "{\"model\":\"chat\",\"prompt\":\"brief hello\",\"max_tokens\":2}"),
                ("/v1/images/generations", "{\"model\":\"gan\",\"prompt\":\"zebra-7731 bag\"}"),
                ("/v1/completions", "{\"model\":\"chat\",\"prompt\":\"brief hello\",\"max_tokens\":\"x\"}"),
            })
                using (var r = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")))
                    Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest);
        }
        return string.Join("\n", capture.Lines);
    }

    [Fact]
    public async Task LogsHoldNoPromptsUnlessAsked()
    {
        var quiet = await LogOf(false);
        Assert.Contains("POST /v1/chat/completions 200", quiet);
        Assert.Contains("POST /v1/completions 200", quiet);
        Assert.Contains("POST /v1/completions 400", quiet);
        Assert.Contains("POST /v1/images/generations 200", quiet);
        Assert.DoesNotContain("zebra", quiet);
        Assert.DoesNotContain("brief hello", quiet);
        var told = await LogOf(true);
        Assert.Contains("zebra-7731", told);
        Assert.Contains("User: brief hello", told);
        Assert.Contains("completion prompt for chat: brief hello", told);
    }

    [Fact]
    public async Task MalformedBodiesGet4xxJsonErrorsAndTheServerCarriesOn()
    {
        var random = new Random(20261203);
        var chat = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3,\"temperature\":0.5,\"seed\":1,\"n\":1,\"stop\":[\"x\"],\"stream\":false}";
        var image = "{\"model\":\"gan\",\"prompt\":\"bag\",\"n\":1,\"seed\":1,\"size\":\"28x28\",\"response_format\":\"b64_json\",\"steps\":1}";
        // Values of the wrong type or out of range for each field.
        var junk = new Dictionary<string, string[]>
        {
            ["model"] = new[] { "1", "[]", "{}", "true", "\"../chat\"", "\"nope\"", "\"\"" },
            ["messages"] = new[] { "\"hi\"", "[]", "[1]", "[{\"role\":5}]", "[{\"role\":\"robot\",\"content\":\"x\"}]", "[{\"role\":\"user\",\"content\":{}}]", "{}" },
            ["max_tokens"] = new[] { "0", "-5", "1e300", "99999999999999999999", "\"3\"", "3.5", "[]" },
            ["temperature"] = new[] { "\"hot\"", "-1", "1e400", "-1e400", "{}", "true" },
            ["seed"] = new[] { "1e30", "\"1\"", "0.5", "[1]" },
            ["n"] = new[] { "0", "1000000", "\"2\"", "-1e10", "null,\"n\":[]" },
            ["stop"] = new[] { "5", "[1,2]", "[\"a\",\"b\",\"c\",\"d\",\"e\"]", "{}" },
            ["stream"] = new[] { "\"yes\"", "1", "[]" },
            ["prompt"] = new[] { "5", "[]", "{}", "\"a sunset\"", "\"shirt and bag\"", "true" },
            ["size"] = new[] { "\"1024x1024\"", "28", "\"28\"", "[]" },
            ["response_format"] = new[] { "\"url\"", "\"jpeg\"", "1" },
            ["steps"] = new[] { "0", "\"x\"", "1e20", "-3" },
        };
        IEnumerable<string> FieldsOf(string body) => junk.Keys.Where(k => body.Contains($"\"{k}\":"));
        string WrongField(string body)
        {
            var fields = FieldsOf(body).ToArray();
            var field = fields[random.Next(fields.Length)];
            var node = JsonNode.Parse(body)!.AsObject();
            var raw = node.ToJsonString();
            var value = node[field]!.ToJsonString();
            var bad = junk[field][random.Next(junk[field].Length)];
            return raw.Replace($"\"{field}\":{value}", $"\"{field}\":{bad}");
        }
        byte[] Malformed(string body)
        {
            switch (random.Next(7))
            {
                case 0: return Encoding.UTF8.GetBytes(body[..random.Next(body.Length - 1)]);                        // truncated
                case 1: return Encoding.UTF8.GetBytes(WrongField(body));                                            // wrong type or value
                case 2:                                                                                             // nested junk
                    int depth = random.Next(20, 200);
                    return Encoding.UTF8.GetBytes(body[..^1] + ",\"model\":" + new string('[', depth) + new string(']', depth) + "}");
                case 3:                                                                                             // invalid UTF-8 in a string
                    var bytes = Encoding.UTF8.GetBytes(body).ToList();
                    int at = body.IndexOf("\"model\":\"", StringComparison.Ordinal) + 9;
                    bytes.InsertRange(at, new byte[] { 0xC3, 0x28, 0xFF, 0xFE });
                    return bytes.ToArray();
                case 4:                                                                                             // random bytes
                    var noise = new byte[random.Next(1, 300)];
                    random.NextBytes(noise);
                    return noise;
                case 5: return Encoding.UTF8.GetBytes(new[] { "[]", "null", "42", "\"text\"", "", "{", "{}", "{\"model\":null}", "{\"a\":1}{\"b\":2}" }[random.Next(9)]);
                default:                                                                                            // a field twice, or a control character
                    return Encoding.UTF8.GetBytes(random.Next(2) == 0 ? body[..^1] + ",\"model\":\"chat\"\u0001}" : body.Replace(":", "::"));
            }
        }
        using var http = new HttpClient { BaseAddress = f.Server.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var failures = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            var (path, valid) = i % 2 == 0 ? ("/v1/chat/completions", chat) : ("/v1/images/generations", image);
            var body = Malformed(valid);
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var r = await http.PostAsync(path, content);
            int status = (int)r.StatusCode;
            var text = await r.Content.ReadAsStringAsync();
            bool json = false;
            try { json = JsonNode.Parse(text)?["error"]?["message"] is not null; } catch (System.Text.Json.JsonException) { }
            if (status is < 400 or >= 500 || !json)
                failures.Add($"{path} {status} {Convert.ToBase64String(body)}: {text[..Math.Min(200, text.Length)]}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        using (var r = await http.GetAsync("/health")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var (ok, _) = await f.Post("/v1/chat/completions", chat);
        Assert.Equal(200, ok);
    }
}
