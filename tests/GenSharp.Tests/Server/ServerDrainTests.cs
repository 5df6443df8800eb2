using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GenSharp.Server;
using OpenAI;
using OpenAI.Chat;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Stopping drains: a running stream finishes while new requests get 503, in-process and through the real
/// <c>gensharp serve</c> process on SIGTERM.
/// </summary>
[Collection("Server")]
public class ServerDrainTests(ServerFixture f)
{
    /// <summary>A completion long enough to be running when the server is told to stop: 4,000 tokens of the tiny gpt.</summary>
    const int LongTokens = 4000;

    static HttpRequestMessage LongStream() => new(HttpMethod.Post, "/v1/completions")
    {
        Content = new StringContent(new JsonObject
        {
            ["model"] = "chat", ["prompt"] = "User: hi\n", ["max_tokens"] = LongTokens, ["temperature"] = 1, ["seed"] = 3,
            ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true },
        }.ToJsonString(), Encoding.UTF8, "application/json"),
    };

    /// <summary>Reads Server-Sent Events: the data of each event, until the stream ends (or breaks).</summary>
    sealed class Events(Stream stream)
    {
        readonly StreamReader _reader = new(stream);
        public List<string> Seen { get; } = new();

        public async Task<string?> NextAsync()
        {
            while (await _reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ")) continue;
                Seen.Add(line[6..]);
                return line[6..];
            }
            return null;
        }

        /// <summary>Reads to the end; false when the connection broke before it.</summary>
        public async Task<bool> RestAsync()
        {
            try { while (await NextAsync() is not null) { } return true; }
            catch (IOException) { return false; }
            catch (HttpRequestException) { return false; }
        }
    }

    /// <summary>The stream ended properly: [DONE] last, every token generated (usage), finish_reason length.</summary>
    static void AssertFinished(List<string> events)
    {
        Assert.Equal("[DONE]", events[^1]);
        var usage = JsonNode.Parse(events[^2])!["usage"]!;
        Assert.Equal(LongTokens, (int)usage["completion_tokens"]!);
        Assert.Contains(events.Take(events.Count - 2), e => (string?)JsonNode.Parse(e)!["choices"]![0]!["finish_reason"] == "length");
    }

    static async Task AssertShuttingDown(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        var error = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("server_shutting_down", (string?)error["code"]);
        Assert.Equal("server_error", (string?)error["type"]);
        Assert.Contains("shutting down", (string)error["message"]!);
    }

    [Fact]
    public async Task StoppingLetsARunningStreamFinishAndRefusesNewRequests()
    {
        var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = f.ModelsDir, Port = 0, DrainTimeout = TimeSpan.FromMinutes(2) });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        using var response = await http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var events = new Events(await response.Content.ReadAsStreamAsync());
        Assert.NotNull(await events.NextAsync());                       // generating

        var stopping = server.StopAsync();
        Assert.True(server.Draining);
        int before = events.Seen.Count;
        // A new connection during the drain: 503 in OpenAI's shape; the health probe says draining.
        using (var other = new HttpClient { BaseAddress = server.BaseAddress })
        {
            using (var r = await other.PostAsync("/v1/completions", new StringContent("{\"model\":\"chat\",\"prompt\":\"hi\"}", Encoding.UTF8, "application/json")))
                await AssertShuttingDown(r);
            using (var r = await other.GetAsync("/v1/models")) await AssertShuttingDown(r);
            using (var r = await other.GetAsync("/health"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
                Assert.Contains("draining", await r.Content.ReadAsStringAsync());
            }
            Assert.Contains("gensharp_draining 1", await other.GetStringAsync("/metrics"));
        }
        Assert.True(await events.RestAsync());
        Assert.True(events.Seen.Count - before > 10, $"{events.Seen.Count - before} events after stopping began: the stream should have run on");
        AssertFinished(events.Seen);
        await stopping.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, server.RunningRequests);
        await Assert.ThrowsAsync<HttpRequestException>(() => new HttpClient { BaseAddress = server.BaseAddress }.GetStringAsync("/health"));
        await server.DisposeAsync();
    }

    [Fact]
    public async Task AStreamStillRunningAfterTheDrainTimeoutIsCutOff()
    {
        var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = f.ModelsDir, Port = 0, DrainTimeout = TimeSpan.FromMilliseconds(200) });
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        using var response = await http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead);
        var events = new Events(await response.Content.ReadAsStreamAsync());
        Assert.NotNull(await events.NextAsync());
        var clock = Stopwatch.StartNew();
        await server.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {clock.Elapsed}");
        await events.RestAsync();
        Assert.DoesNotContain("[DONE]", events.Seen);                    // cut off, not finished
        await server.DisposeAsync();
    }

    [Fact]
    public async Task SigtermDrainsTheServeProcessWhichExitsZero()
    {
        if (!OperatingSystem.IsLinux()) return;
        var cli = Path.Combine(AppContext.BaseDirectory, "GenSharp.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "serve", "--models", f.ModelsDir, "--port", "0", "--drain-seconds", "120" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var draining = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (Regex.Match(e.Data, @"listening on (http://\S+) ") is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
            if (e.Data.Contains("draining")) draining.TrySetResult();
        };
        p.BeginErrorReadLine();
        var stdout = p.StandardOutput.ReadToEndAsync();
        try
        {
            var started = await Task.WhenAny(listening.Task, p.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
            lock (stderr) Assert.True(listening.Task.IsCompleted, "gensharp serve did not start listening: " + stderr);
            var baseAddress = await listening.Task;

            // The official OpenAI SDK: a chat completion and the model list.
            var client = new OpenAIClient(new ApiKeyCredential("x"), new OpenAIClientOptions { Endpoint = new Uri(baseAddress, "v1") });
            ChatCompletion chat = (await client.GetChatClient("chat").CompleteChatAsync(
                new ChatMessage[] { new UserChatMessage("hi") }, new ChatCompletionOptions { MaxOutputTokenCount = 8, Temperature = 0 })).Value;
            Assert.Equal(ChatMessageRole.Assistant, chat.Role);
            Assert.InRange(chat.Usage.OutputTokenCount, 1, 8);
            var models = (await client.GetOpenAIModelClient().GetModelsAsync()).Value.Select(m => m.Id).ToArray();
            Assert.Equal(new[] { "chat", "gan", "qwen2" }, models.Order().ToArray());

            // A long stream under way, then SIGTERM.
            using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(3) };
            using var response = await http.SendAsync(LongStream(), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = new Events(await response.Content.ReadAsStreamAsync());
            Assert.NotNull(await events.NextAsync());
            using (var kill = Process.Start("kill", $"-TERM {p.Id}")) await kill.WaitForExitAsync();
            await draining.Task.WaitAsync(TimeSpan.FromSeconds(30));
            int before = events.Seen.Count;
            // A new request while the stream drains (thousands of tokens to go): refused with 503, the port still open.
            using (var other = new HttpClient { BaseAddress = baseAddress })
            using (var r = await other.GetAsync("/v1/models"))
                await AssertShuttingDown(r);
            Assert.True(await events.RestAsync(), "the stream broke off");
            Assert.True(events.Seen.Count - before > 10, $"{events.Seen.Count - before} events after SIGTERM: the stream should have run on");
            AssertFinished(events.Seen);
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            lock (stderr) Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}: {stderr}");
            lock (stderr) Assert.Contains("gensharp serve: stopped", stderr.ToString());
            await stdout;
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
    }
}
