using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The wire format by hand: SSE framing, the usage chunk, <c>[DONE]</c>, and OpenAI's error shape with its status codes.</summary>
[Collection("Server")]
public class ServerHttpTests(ServerFixture f)
{
    /// <summary>The SSE events of a streamed response: their data fields, checking each is one line followed by a blank line.</summary>
    static List<string> Events(string body)
    {
        Assert.EndsWith("\n\n", body);
        var events = body[..^2].Split("\n\n");
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.All(events, e => Assert.DoesNotContain('\n', e));
        return events.Select(e => e["data: ".Length..]).ToList();
    }

    [Fact]
    public async Task StreamedCompletionIsFramedAndEndsWithUsageAndDone()
    {
        var request = new JsonObject { ["model"] = "qwen2", ["prompt"] = "abc", ["max_tokens"] = 8, ["seed"] = 2, ["n"] = 2 };
        var (_, whole) = await f.PostJson("/v1/completions", request);
        var streaming = request.DeepClone().AsObject();
        streaming["stream"] = true;
        streaming["stream_options"] = new JsonObject { ["include_usage"] = true };
        using var r = await f.Http.PostAsync("/v1/completions", new StringContent(streaming.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        var events = Events(await r.Content.ReadAsStringAsync());
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!.AsObject()).ToList();
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(whole["usage"]!.ToJsonString(), usage["usage"]!.ToJsonString());
        for (int i = 0; i < 2; i++)
        {
            var mine = chunks[..^1].SelectMany(c => c["choices"]!.AsArray()).Where(c => (int)c!["index"]! == i).ToList();
            Assert.Equal((string?)whole["choices"]![i]!["text"], string.Concat(mine.Select(c => (string?)c!["text"])));
            Assert.Equal((string?)whole["choices"]![i]!["finish_reason"], (string?)mine[^1]!["finish_reason"]);
            Assert.All(mine[..^1], c => Assert.Null(c!["finish_reason"]));
        }
        Assert.All(chunks, c => Assert.Equal((string?)chunks[0]["id"], (string?)c["id"]));
    }

    [Fact]
    public async Task StreamedChatOpensWithTheRoleAndHasNoUsageUnlessAsked()
    {
        var request = new JsonObject
        {
            ["model"] = "chat", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }),
            ["max_tokens"] = 10, ["seed"] = 1, ["stream"] = true,
        };
        var (status, body) = await f.Post("/v1/chat/completions", request.ToJsonString());
        Assert.Equal(200, status);
        var events = Events(body);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!.AsObject()).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.All(chunks, c => Assert.False(c.ContainsKey("usage")));
        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.NotNull((string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task ModelsAndHealth()
    {
        var models = JsonNode.Parse(await f.Http.GetStringAsync("/v1/models"))!;
        Assert.Equal("list", (string?)models["object"]);
        var data = models["data"]!.AsArray();
        Assert.Equal(new[] { "chat", "gan", "qwen2" }, data.Select(m => (string?)m!["id"]).ToArray());     // "notes" holds no model
        Assert.All(data, m => { Assert.Equal("model", (string?)m!["object"]); Assert.Equal("gensharp", (string?)m["owned_by"]); Assert.True((long)m["created"]! > 0); });
        Assert.Equal("ok", (string?)JsonNode.Parse(await f.Http.GetStringAsync("/health"))!["status"]);
    }

    /// <summary>Asserts OpenAI's error shape, the status, the param and the code; and that nothing looks like a stack trace.</summary>
    static void AssertError((int Status, string Body) r, int status, string? param, string? code = null)
    {
        Assert.True(r.Status == status, $"expected {status}, got {r.Status}: {r.Body}");
        var error = JsonNode.Parse(r.Body)!["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.NotNull((string?)error["type"]);
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
        Assert.Equal(param, (string?)error["param"]);
        if (code is not null) Assert.Equal(code, (string?)error["code"]);
        Assert.DoesNotContain("   at ", r.Body);
        Assert.DoesNotContain("Exception", r.Body);
    }

    static string Chat(string model = "chat", string extra = "") =>
        $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]{{extra}}}""";

    [Fact]
    public async Task BadRequestsGetOpenAiErrors()
    {
        AssertError(await f.Post("/v1/chat/completions", "{\"model\": \"chat\", \"messages\": ["), 400, null, "invalid_json");
        AssertError(await f.Post("/v1/chat/completions", "[1,2]"), 400, null, "invalid_json");
        AssertError(await f.Post("/v1/chat/completions", ""), 400, null, "invalid_json");
        AssertError(await f.Post("/v1/chat/completions", Chat("nosuch")), 404, "model", "model_not_found");
        AssertError(await f.Post("/v1/chat/completions", Chat("notes")), 404, "model", "model_not_found");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"temperature\":\"hot\"")), 400, "temperature", "invalid_type");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"temperature\":-1")), 400, "temperature");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"max_tokens\":1.5")), 400, "max_tokens");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"max_tokens\":0")), 400, "max_tokens");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"n\":0")), 400, "n");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"stop\":[\"a\",3]")), 400, "stop");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"stop\":\"\"")), 400, "stop");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"presence_penalty\":2.5")), 400, "presence_penalty", "invalid_value");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"top_logprobs\":3")), 400, "top_logprobs", "invalid_value");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"logprobs\":true,\"top_logprobs\":21")), 400, "top_logprobs", "invalid_value");
        AssertError(await f.Post("/v1/completions", """{"model":"qwen2","prompt":"x","logprobs":6}"""), 400, "logprobs", "invalid_value");
        AssertError(await f.Post("/v1/completions", """{"model":"qwen2","prompt":"x","top_logprobs":2}"""), 400, "top_logprobs", "invalid_value");
        AssertError(await f.Post("/v1/chat/completions", Chat(extra: ",\"stream_options\":{\"include_usage\":true}")), 400, "stream_options");
        AssertError(await f.Post("/v1/chat/completions", """{"model":"chat","messages":"hi"}"""), 400, "messages", "invalid_type");
        AssertError(await f.Post("/v1/chat/completions", """{"model":"chat","messages":[{"role":"tool","content":"x"}]}"""), 400, "messages[0].role");
        AssertError(await f.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"hi"}]}"""), 400, "model", "missing_required_parameter");
        AssertError(await f.Post("/v1/completions", """{"model":"qwen2","prompt":[1,2,3]}"""), 400, "prompt", "invalid_type");
        AssertError(await f.Post("/v1/completions", """{"model":"qwen2","prompt":"x","presence_penalty":"a"}"""), 400, "presence_penalty", "invalid_type");
        // A zero penalty is OpenAI's default and changes nothing: accepted.
        Assert.Equal(200, (await f.Post("/v1/chat/completions", Chat(extra: ",\"presence_penalty\":0,\"max_tokens\":2"))).Status);
        // A character the char tokenizer never saw is the client's mistake, named.
        var unknown = await f.Post("/v1/chat/completions", """{"model":"chat","messages":[{"role":"user","content":"héllo ZQ"}]}""");
        AssertError(unknown, 400, null);
        Assert.Contains("your message", unknown.Body);
    }

    [Fact]
    public async Task ModelNamesCannotEscapeTheFolder()
    {
        foreach (var name in new[] { "..", "../chat", "chat/..", "chat/checkpoint", "..\\\\chat", "/etc" })
            AssertError(await f.Post("/v1/chat/completions", Chat(name)), 400, "model", "invalid_model_name");
        AssertError(await f.Post("/v1/completions", """{"model":"../qwen2","prompt":"x"}"""), 400, "model", "invalid_model_name");
    }

    [Fact]
    public async Task PromptLongerThanTheContextIs400()
    {
        var longPrompt = string.Concat(Enumerable.Repeat("hello world ", 60));       // ≫ 64 tokens
        AssertError(await f.Post("/v1/completions", new JsonObject { ["model"] = "qwen2", ["prompt"] = longPrompt }.ToJsonString()), 400, "prompt", "context_length_exceeded");
        AssertError(await f.Post("/v1/completions", new JsonObject { ["model"] = "qwen2", ["prompt"] = longPrompt, ["stream"] = true }.ToJsonString()), 400, "prompt", "context_length_exceeded");
        var chat = new JsonObject { ["model"] = "chat", ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = string.Concat(Enumerable.Repeat("hi ", 30)) }) };
        AssertError(await f.Post("/v1/chat/completions", chat.ToJsonString()), 400, "messages", "context_length_exceeded");
    }

    [Fact]
    public async Task BodyTooLargeIs413AndUnknownRoutesAre404Or405()
    {
        var big = new JsonObject { ["model"] = "qwen2", ["prompt"] = new string('a', 100 * 1024) }.ToJsonString();
        AssertError(await f.Post("/v1/completions", big), 413, null, "request_too_large");
        using (var r = await f.Http.GetAsync("/v1/nothing"))
            AssertError(((int)r.StatusCode, await r.Content.ReadAsStringAsync()), 404, null);
        using (var r = await f.Http.GetAsync("/v1/chat/completions"))
            AssertError(((int)r.StatusCode, await r.Content.ReadAsStringAsync()), 405, null);
    }

    [Fact]
    public async Task DisconnectStopsGenerationAndFreesTheModel()
    {
        var request = new JsonObject
        {
            ["model"] = "qwen2", ["prompt"] = "a", ["max_tokens"] = 4096, ["seed"] = 3, ["stream"] = true, ["n"] = 8, ["top_k"] = 2,   // 8 × 4096 = the n × max_tokens cap
        };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using (var cts = new CancellationTokenSource())
        {
            var message = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json") };
            using var r = await f.Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            using var stream = await r.Content.ReadAsStreamAsync(cts.Token);
            await stream.ReadExactlyAsync(new byte[16], cts.Token);                   // generation has started
            cts.Cancel();
        }
        // The model is free again at once: a short request does not wait for 8 × 4096 tokens.
        var (status, _) = await f.PostJson("/v1/completions", new JsonObject { ["model"] = "qwen2", ["prompt"] = "a", ["max_tokens"] = 2 });
        Assert.Equal(200, status);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }
}
