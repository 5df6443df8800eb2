using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GenSharp.Checkpoints;
using GenSharp.Server;
using OpenAI;
using OpenAI.Chat;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Continuous batching through the server: concurrent requests share the decoder yet each gets what it gets alone;
/// a client that goes away frees its row; log-probabilities and penalties reach the sampler and the response.
/// A server of its own on a small random llama (9M parameters) with a long context, so a request can run long enough to be cut off.
/// </summary>
public class ServerBatchingTests : IAsyncLifetime
{
    string _models = "";
    GenSharpServer _server = null!;
    HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _models = TestData.TempDir();
        var config = HfModelTests.LlamaConfig(heads: 8, kvHeads: 2);
        // Wide enough that 4000 tokens take seconds (a request can be cut off mid-way), long enough a context to hold them.
        (config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"], config["max_position_embeddings"]) = (512, 1024, 4, 4096);
        using (var m = HfModelTests.RandomModel(config, seed: 11))
            HfModelTests.Save(m, config, dir: Path.Combine(_models, "llama"));
        HfTokenizerTests.WriteTokenizer(Path.Combine(_models, "llama"));
        _server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = _models, Port = 0, MaxBatchRows = 4 });
        _http = new HttpClient { BaseAddress = _server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    static JsonObject Request(int i) => new()
    {
        ["model"] = "llama", ["prompt"] = new[] { "the cat", "a dog ran", "hello", "zz top", "abc abc abc", "q" }[i % 6],
        ["max_tokens"] = 8 + 5 * i, ["seed"] = 100 + i, ["temperature"] = i % 3 == 0 ? 0.0 : 0.6 + 0.2 * i, ["top_k"] = i % 2 == 0 ? 0 : 40,
        ["n"] = i % 4 == 1 ? 2 : 1, ["presence_penalty"] = i % 5 == 2 ? 0.8 : 0.0, ["logprobs"] = 1,
    };

    async Task<JsonObject> Post(JsonObject body)
    {
        using var r = await _http.PostAsync("/v1/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return JsonNode.Parse(text)!.AsObject();
    }

    async Task<double> Metric(string name)
    {
        var text = await _http.GetStringAsync("/metrics");
        var m = Regex.Match(text, "^" + name + " (\\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"{name} is not in /metrics");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Each choice's text and token ids (from its logprobs).</summary>
    static string[] Choices(JsonObject response) => response["choices"]!.AsArray()
        .Select(c => (string)c!["text"]! + " | " + string.Join(",", c!["logprobs"]!["tokens"]!.AsArray().Select(t => (string)t!)) + " | " + (string)c["finish_reason"]!)
        .ToArray();

    [Fact]
    public async Task ConcurrentRequestsGetWhatEachGetsAlone()
    {
        const int requests = 10;
        var alone = new List<string[]>();
        for (int i = 0; i < requests; i++) alone.Add(Choices(await Post(Request(i))));
        var s0 = await Metric("gensharp_decode_steps_total");
        var r0 = await Metric("gensharp_decoded_rows_total");
        var together = await Task.WhenAll(Enumerable.Range(0, requests).Select(i => Task.Run(() => Post(Request(i)))));
        for (int i = 0; i < requests; i++) Assert.Equal(alone[i], Choices(together[i]));
        // They did share the decoder: more than one sequence per step on average (4 rows, 13 sequences).
        double mean = (await Metric("gensharp_decoded_rows_total") - r0) / (await Metric("gensharp_decode_steps_total") - s0);
        Assert.True(mean > 2, $"mean batch {mean:F2}");
        Assert.Equal(0, await Metric("gensharp_batch_size"));
    }

    [Fact]
    public async Task AClientThatDisconnectsFreesItsRowAtOnce()
    {
        var body = new JsonObject { ["model"] = "llama", ["prompt"] = "go", ["max_tokens"] = 4000, ["stream"] = true, ["temperature"] = 1.0, ["ignore_eos"] = true };
        using var cancel = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        var stream = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.StartsWith("data: ", await stream.ReadLineAsync(cancel.Token));          // it is generating
        Assert.Equal(1, await Metric("gensharp_batch_size"));
        double before = await Metric("gensharp_completion_tokens_total");
        cancel.Cancel();
        response.Dispose();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (await Metric("gensharp_batch_size") > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the disconnected request still holds its row");
            await Task.Delay(20);
        }
        // The next request runs at once, and the abandoned one was not counted as 4000 tokens generated.
        var next = await Post(new JsonObject { ["model"] = "llama", ["prompt"] = "x", ["max_tokens"] = 3 });
        Assert.Equal("length", (string?)next["choices"]![0]!["finish_reason"]);
        double counted = await Metric("gensharp_completion_tokens_total") - before;
        Assert.True(counted < 100, $"{counted} tokens counted after the disconnect");
    }

    [Fact]
    public async Task ChatLogprobsThroughTheOpenAiSdkAreTheModelsLogSoftmax()
    {
        var client = new ChatClient("llama", new System.ClientModel.ApiKeyCredential("none"), new OpenAIClientOptions { Endpoint = new Uri(_server.BaseAddress, "v1") });
        var o = new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0f, IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };
        var reply = (await client.CompleteChatAsync(new ChatMessage[] { new UserChatMessage("hi") }, o)).Value;
        Assert.Equal(6, reply.ContentTokenLogProbabilities.Count);
        foreach (var t in reply.ContentTokenLogProbabilities)
        {
            Assert.Equal(3, t.TopLogProbabilities.Count);
            Assert.Equal(t.TopLogProbabilities[0].Token, t.Token);                     // greedy: the chosen token is the most likely
            Near(t.TopLogProbabilities[0].LogProbability, t.LogProbability, 1e-6);
            Assert.True(t.TopLogProbabilities[0].LogProbability >= t.TopLogProbabilities[1].LogProbability);
            Assert.True(t.LogProbability <= 0);
        }
        // Independent check: a full forward pass over the prompt and the reply's tokens gives the same log-probabilities.
        using var m = Checkpoint.LoadTextModel(Path.Combine(_models, "llama"), torch.CPU);
        var ids = ChatPromptIds(m, "hi");
        Assert.Equal(reply.Usage.InputTokenCount, ids.Count);
        // Greedy: each reply token is the argmax of a full forward pass over the prompt and the reply so far.
        using var _ = torch.no_grad();
        foreach (var t in reply.ContentTokenLogProbabilities)
        {
            var logp = m.Model.Logits(torch.tensor(ids.Select(x => (long)x).ToArray(), new long[] { 1, ids.Count })).log_softmax(2)[0, ids.Count - 1];
            int best = (int)logp.argmax().item<long>();
            Assert.Equal(m.Tokenizer.TokenBytes(best).ToArray(), t.Utf8Bytes!.Value.ToArray());
            Near(logp[best].item<float>(), t.LogProbability);
            var top = logp.topk(3).values.data<float>().ToArray();
            for (int k = 0; k < 3; k++) Near(top[k], t.TopLogProbabilities[k].LogProbability);
            ids.Add(best);
        }
    }

    [Fact]
    public async Task StreamedChatChunksCarryTheirTokensLogprobs()
    {
        var body = new JsonObject
        {
            ["model"] = "llama", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
            ["max_tokens"] = 5, ["temperature"] = 0.0, ["logprobs"] = true, ["stream"] = true,
        };
        using var r = await _http.PostAsync("/v1/chat/completions", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var events = (await r.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(e => e != "data: [DONE]").Select(e => JsonNode.Parse(e["data: ".Length..])!).ToArray();
        var tokens = events.Select(e => e["choices"]![0]!["logprobs"]).Where(l => l is not null).SelectMany(l => l!["content"]!.AsArray()).ToArray();
        Assert.Equal(5, tokens.Length);
        Assert.All(tokens, t => Assert.Empty(t!["top_logprobs"]!.AsArray()));
        var whole = await Post(new JsonObject { ["model"] = "llama", ["prompt"] = "x", ["max_tokens"] = 1, ["logprobs"] = 0 });
        var lp = whole["choices"]![0]!["logprobs"]!;
        Assert.Single(lp["tokens"]!.AsArray());
        Assert.Equal(0, (int)lp["text_offset"]![0]!);
    }

    /// <summary>Equal within <paramref name="tolerance"/> (a prompt's forward pass and the batch's sum in different orders).</summary>
    static void Near(double expected, double actual, double tolerance = 1e-3) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected}, got {actual}");

    static List<int> ChatPromptIds(GenSharp.Checkpoints.LoadedTextModel m, string user)
    {
        var template = GenSharp.Text.Chat.ChatTemplates.Select(null, m.Path).Template;
        var prompt = GenSharp.Text.Chat.ChatPrompt.Fit(template, m.Tokenizer, new[] { new GenSharp.Text.Chat.ChatMessage(GenSharp.Text.Chat.ChatRole.User, user) }, int.MaxValue);
        return GenSharp.Sampling.ContinuousBatcher.PromptIds(m.Tokenizer, prompt.Text).ToList();
    }
}
