using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Sampling;
using GenSharp.Text.Chat;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>
/// <c>POST /v1/completions</c> and <c>POST /v1/chat/completions</c>: parse the request, generate with the model's
/// <see cref="TextGenerator"/> (n choices as one batch of prompts), answer as OpenAI does, whole or as Server-Sent Events.
/// </summary>
sealed class TextEndpoints(ModelRegistry models, ServerOptions options, ServerMetrics metrics, ILogger log)
{
    /// <summary>OpenAI's default <c>max_tokens</c> for completions.</summary>
    const int CompletionDefaultMaxTokens = 16;
    /// <summary>The library's default reply length for chat.</summary>
    const int ChatDefaultMaxTokens = 200;

    public async Task Completions(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var request = TextRequest.Parse(body, options, CompletionDefaultMaxTokens);
        var prompts = body.Strings("prompt") ?? throw ApiException.Invalid("prompt", "prompt is required", "missing_required_parameter");
        if (prompts.Count == 0) throw ApiException.Invalid("prompt", "prompt must hold at least one string", "invalid_value");
        if (body.Bool("echo") == true) throw ApiException.Invalid("echo", "echo is not supported", "unsupported_parameter");
        if (body.Has("suffix")) throw ApiException.Invalid("suffix", "suffix is not supported", "unsupported_parameter");
        if (body.Integer("best_of", 1) is > 1) throw ApiException.Invalid("best_of", "best_of is not supported; use n", "unsupported_parameter");
        CheckTotal(request, prompts.Count);
        if (options.LogPrompts) log.LogInformation("completion prompt for {Model}: {Prompt}", request.Model, string.Join(" | ", prompts));
        var cancel = http.RequestAborted;
        using var lease = await models.AcquireAsync(request.Model, cancel);
        var m = RequireText(lease.Model);
        await m.Gate.WaitAsync(cancel);
        try
        {
            // The tokenizer is not thread-safe: prompts are counted under the model's gate.
            for (int i = 0; i < prompts.Count; i++)
                CheckContext(m, PromptTokens(m, prompts[i]), prompts.Count == 1 ? "prompt" : $"prompt[{i}]", "prompt");
            var rows = prompts.SelectMany(p => Enumerable.Repeat(p, request.N)).ToArray();
            string id = "cmpl-" + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            JsonObject Chunk(JsonArray choices) => new()
            {
                ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = request.Model, ["choices"] = choices,
            };
            if (!request.Stream)
            {
                var results = await Generate(m, rows, request.Options, null, cancel);
                var choices = new JsonArray(results.Select((r, i) => (JsonNode)new JsonObject
                {
                    ["index"] = i, ["text"] = r.Text, ["logprobs"] = null, ["finish_reason"] = r.FinishReason,
                }).ToArray());
                var response = Chunk(choices);
                response["usage"] = Usage(results, request.N);
                await WriteJson(http, 200, response);
                return;
            }
            var sse = new SseWriter(http);
            var final = await Generate(m, rows, request.Options, piece => sse.SendAsync(Chunk(new JsonArray(new JsonObject
            {
                ["index"] = piece.Row, ["text"] = piece.Text, ["logprobs"] = null, ["finish_reason"] = null,
            }))), cancel);
            for (int i = 0; i < final.Length; i++)
                await sse.SendAsync(Chunk(new JsonArray(new JsonObject
                {
                    ["index"] = i, ["text"] = "", ["logprobs"] = null, ["finish_reason"] = final[i].FinishReason,
                })));
            if (request.IncludeUsage)
            {
                var usage = Chunk(new JsonArray());
                usage["usage"] = Usage(final, request.N);
                await sse.SendAsync(usage);
            }
            await sse.DoneAsync();
        }
        finally
        {
            m.Gate.Release();
        }
    }

    public async Task ChatCompletions(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var request = TextRequest.Parse(body, options, ChatDefaultMaxTokens);
        var messages = ParseMessages(body);
        CheckTotal(request, 1);
        if (options.LogPrompts)
            log.LogInformation("chat messages for {Model}: {Messages}", request.Model, string.Join(" | ", messages.Select(x => $"{x.Role}: {x.Content}")));
        var cancel = http.RequestAborted;
        using var lease = await models.AcquireAsync(request.Model, cancel);
        var m = RequireText(lease.Model);
        await m.Gate.WaitAsync(cancel);
        try
        {
            var template = m.Chat.Template;
            // The whole conversation, never trimmed: a conversation longer than the context is the client's to shorten.
            var prompt = ChatPrompt.Fit(template, m.Loaded.Tokenizer, messages, int.MaxValue);
            CheckContext(m, prompt.Tokens + (AddsBos(m) ? 1 : 0), "messages", "messages");
            var generation = request.Options with { StopSequences = request.Options.StopSequences.Concat(template.StopSequences).Distinct().ToArray() };
            var rows = Enumerable.Repeat(prompt.Text, request.N).ToArray();
            string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (!request.Stream)
            {
                var results = await Generate(m, rows, generation, null, cancel);
                var choices = new JsonArray(results.Select((r, i) => (JsonNode)new JsonObject
                {
                    ["index"] = i,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = r.Text.Trim(), ["refusal"] = null },
                    ["logprobs"] = null,
                    ["finish_reason"] = r.FinishReason,
                }).ToArray());
                await WriteJson(http, 200, new JsonObject
                {
                    ["id"] = id, ["object"] = "chat.completion", ["created"] = created, ["model"] = request.Model,
                    ["choices"] = choices, ["usage"] = Usage(results, request.N),
                });
                return;
            }
            JsonObject Chunk(JsonArray choices)
            {
                var c = new JsonObject
                {
                    ["id"] = id, ["object"] = "chat.completion.chunk", ["created"] = created, ["model"] = request.Model, ["choices"] = choices,
                };
                if (request.IncludeUsage) c["usage"] = null;
                return c;
            }
            JsonObject Choice(int index, JsonObject delta, string? finish) => new()
            {
                ["index"] = index, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish,
            };
            var sse = new SseWriter(http);
            var trimmers = rows.Select(_ => new ReplyTrimmer()).ToArray();
            var opened = new bool[rows.Length];
            var final = await Generate(m, rows, generation, async piece =>
            {
                var text = trimmers[piece.Row].Push(piece.Text);
                if (text.Length == 0) return;
                var delta = new JsonObject();
                if (!opened[piece.Row]) { delta["role"] = "assistant"; opened[piece.Row] = true; }
                delta["content"] = text;
                await sse.SendAsync(Chunk(new JsonArray(Choice(piece.Row, delta, null))));
            }, cancel);
            for (int i = 0; i < final.Length; i++)
            {
                var delta = opened[i] ? new JsonObject() : new JsonObject { ["role"] = "assistant", ["content"] = "" };
                await sse.SendAsync(Chunk(new JsonArray(Choice(i, delta, final[i].FinishReason))));
            }
            if (request.IncludeUsage)
            {
                var usage = Chunk(new JsonArray());
                usage["usage"] = Usage(final, request.N);
                await sse.SendAsync(usage);
            }
            await sse.DoneAsync();
        }
        finally
        {
            m.Gate.Release();
        }
    }

    /// <summary>Runs the decoder, one step at a time on the thread pool, handing each piece to <paramref name="onPiece"/>.</summary>
    /// <remarks>Records time to first token (from the request's arrival), inter-token latency and token counts.</remarks>
    async Task<GenerationResult[]> Generate(ServedModel m, string[] prompts, GenerationOptions generation,
        Func<TextPiece, Task>? onPiece, CancellationToken cancel)
    {
        var results = new GenerationResult[prompts.Length];
        var clock = Stopwatch.StartNew();
        TimeSpan? last = null;
        try
        {
            using var pieces = m.Generator.Run(prompts, generation, results, cancel).GetEnumerator();
            while (await Task.Run(pieces.MoveNext, cancel))
            {
                var now = clock.Elapsed;
                if (last is { } before) metrics.InterTokenLatency(now - before);
                else metrics.TimeToFirstToken(now);
                last = now;
                if (onPiece is not null) await onPiece(pieces.Current);
            }
        }
        catch (ParameterException e) { throw TextRequest.FromLibrary(e); }
        // The n copies of a prompt are neighbours and read it once (as usage counts it).
        metrics.Tokens(results.Where((_, i) => i == 0 || prompts[i] != prompts[i - 1]).Sum(r => r.PromptTokens), results.Sum(r => r.GeneratedTokens));
        return results;
    }

    static ServedModel RequireText(ServedModel m) => m.IsText ? m
        : throw ApiException.Invalid("model", $"model '{m.Name}' is an image model; use POST /v1/images/generations", "model_not_supported");

    /// <summary>Refuses a request whose choices could generate more than the server's cap in total (n × max_tokens per prompt).</summary>
    void CheckTotal(TextRequest request, int prompts)
    {
        long total = (long)request.N * prompts * request.Options.MaxNewTokens;
        if (total > options.MaxTotalTokens)
            throw ApiException.Invalid("n", $"n × max_tokens{(prompts > 1 ? " × prompts" : "")} is {total}, over the server's cap of {options.MaxTotalTokens} tokens per request; lower n or max_tokens",
                "request_too_large");
    }

    static bool AddsBos(ServedModel m) => m.Loaded.Tokenizer.AddBosToken && m.Loaded.Tokenizer.BosTokenId is not null;

    static int PromptTokens(ServedModel m, string prompt)
    {
        int tokens = m.Loaded.Tokenizer.Encode(prompt).Length + (AddsBos(m) ? 1 : 0);
        if (tokens == 0) throw ApiException.Invalid("prompt", "prompt must not be empty: the model has no start-of-text token to begin from", "invalid_value");
        return tokens;
    }

    static void CheckContext(ServedModel m, int tokens, string what, string param)
    {
        int context = m.Loaded.Model.ContextLength;
        if (tokens > context)
            throw ApiException.Invalid(param, $"the {what} is {tokens} tokens but model '{m.Name}' has a context of {context} tokens; shorten it",
                "context_length_exceeded");
    }

    /// <summary>Token counts: each distinct prompt once (the n copies of a prompt share it), every choice's tokens.</summary>
    static JsonObject Usage(GenerationResult[] results, int n)
    {
        int prompt = results.Where((_, i) => i % n == 0).Sum(r => r.PromptTokens);
        int completion = results.Sum(r => r.GeneratedTokens);
        return new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = prompt + completion };
    }

    static IReadOnlyList<ChatMessage> ParseMessages(RequestBody body)
    {
        var node = body.Node("messages") ?? throw ApiException.Invalid("messages", "messages is required", "missing_required_parameter");
        if (node is not JsonArray array) throw RequestBody.WrongType("messages", "an array", node);
        if (array.Count == 0) throw ApiException.Invalid("messages", "messages must hold at least one message", "invalid_value");
        var messages = new List<ChatMessage>();
        for (int i = 0; i < array.Count; i++)
        {
            string at = $"messages[{i}]";
            if (array[i] is not JsonObject o) throw RequestBody.WrongType(at, "an object", array[i]);
            var roleNode = o["role"];
            if (roleNode is not JsonValue rv || rv.GetValueKind() != JsonValueKind.String) throw RequestBody.WrongType(at + ".role", "a string", roleNode);
            var role = rv.GetValue<string>() switch
            {
                "system" or "developer" => ChatRole.System,
                "user" => ChatRole.User,
                "assistant" => ChatRole.Assistant,
                var other => throw ApiException.Invalid(at + ".role", $"{at}.role '{other}' is not supported; GenSharp chat templates render system, developer, user and assistant messages", "invalid_value"),
            };
            messages.Add(new ChatMessage(role, Content(o["content"], at + ".content", role)));
        }
        return messages;
    }

    /// <summary>A message's text: a string, or an array of text parts (other part types are refused).</summary>
    static string Content(JsonNode? node, string at, ChatRole role)
    {
        switch (node)
        {
            case null when role == ChatRole.Assistant: return "";
            case JsonValue v when v.GetValueKind() == JsonValueKind.String: return v.GetValue<string>();
            case JsonArray parts:
                var text = new System.Text.StringBuilder();
                for (int i = 0; i < parts.Count; i++)
                {
                    if (parts[i] is not JsonObject part) throw RequestBody.WrongType($"{at}[{i}]", "an object", parts[i]);
                    var type = part["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : null;
                    if (type != "text") throw ApiException.Invalid($"{at}[{i}].type", $"{at}[{i}].type '{type}' is not supported; only text parts are", "unsupported_content");
                    if (part["text"] is not JsonValue s || s.GetValueKind() != JsonValueKind.String) throw RequestBody.WrongType($"{at}[{i}].text", "a string", part["text"]);
                    text.Append(s.GetValue<string>());
                }
                return text.ToString();
            default: throw RequestBody.WrongType(at, "a string or an array of text parts", node);
        }
    }

    internal static async Task WriteJson(HttpContext http, int status, JsonNode body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}
