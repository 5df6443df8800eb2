using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Sampling;
using GenSharp.Text.Chat;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>
/// <c>POST /v1/completions</c> and <c>POST /v1/chat/completions</c>: parse the request, add its choices to the model's
/// running batch (<see cref="ContinuousBatcher"/>), answer as OpenAI does, whole or as Server-Sent Events.
/// </summary>
sealed class TextEndpoints(ModelRegistry models, ServerOptions options, ServerMetrics metrics, ILogger log)
{
    /// <summary>OpenAI's default <c>max_tokens</c> for completions.</summary>
    const int CompletionDefaultMaxTokens = 16;
    /// <summary>The library's default reply length for chat.</summary>
    const int ChatDefaultMaxTokens = 200;

    public async Task Completions(HttpContext http)
    {
        long arrival = Stopwatch.GetTimestamp();
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var request = TextRequest.Parse(body, options, CompletionDefaultMaxTokens, chat: false);
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
        var ids = new int[prompts.Count][];
        lock (m.TokenizerLock)
            for (int i = 0; i < prompts.Count; i++)
                ids[i] = PromptIds(m, prompts[i], prompts.Count == 1 ? "prompt" : $"prompt[{i}]", "prompt");
        string id = "cmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonObject Chunk(JsonArray choices) => new()
        {
            ["id"] = id, ["object"] = "text_completion", ["created"] = created, ["model"] = request.Model, ["choices"] = choices,
        };
        var offsets = new int[ids.Length * request.N];              // text offsets of the logprobs' tokens, per choice
        JsonNode? Logprobs(int row, IReadOnlyList<TokenLogprob> tokens) =>
            request.Logprobs < 0 ? null : CompletionLogprobs(tokens, ref offsets[row]);
        if (!request.Stream)
        {
            var (results, logprobs) = await Generate(m, ids, request, null, arrival, cancel);
            var choices = new JsonArray(results.Select((r, i) => (JsonNode)new JsonObject
            {
                ["index"] = i, ["text"] = r.Text, ["logprobs"] = Logprobs(i, logprobs[i]), ["finish_reason"] = r.FinishReason,
            }).ToArray());
            var response = Chunk(choices);
            response["usage"] = Usage(results, request.N);
            await WriteJson(http, 200, response);
            return;
        }
        var sse = new SseWriter(http);
        var (final, _) = await Generate(m, ids, request, (row, piece) => sse.SendAsync(Chunk(new JsonArray(new JsonObject
        {
            ["index"] = row, ["text"] = piece.Text, ["logprobs"] = Logprobs(row, piece.Logprobs), ["finish_reason"] = null,
        }))), arrival, cancel);
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

    public async Task ChatCompletions(HttpContext http)
    {
        long arrival = Stopwatch.GetTimestamp();
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var request = TextRequest.Parse(body, options, ChatDefaultMaxTokens, chat: true);
        var messages = ParseMessages(body);
        CheckTotal(request, 1);
        if (options.LogPrompts)
            log.LogInformation("chat messages for {Model}: {Messages}", request.Model, string.Join(" | ", messages.Select(x => $"{x.Role}: {x.Content}")));
        var cancel = http.RequestAborted;
        using var lease = await models.AcquireAsync(request.Model, cancel);
        var m = RequireText(lease.Model);
        var template = m.Chat.Template;
        int[] ids;
        lock (m.TokenizerLock)
        {
            // The whole conversation, never trimmed: a conversation longer than the context is the client's to shorten.
            var prompt = ChatPrompt.Fit(template, m.Loaded.Tokenizer, messages, int.MaxValue);
            ids = PromptIds(m, prompt.Text, "messages", "messages");
        }
        request = request with { Options = request.Options with { StopSequences = request.Options.StopSequences.Concat(template.StopSequences).Distinct().ToArray() } };
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonNode? Logprobs(IReadOnlyList<TokenLogprob> tokens) =>
            request.Logprobs < 0 ? null : new JsonObject { ["content"] = ChatLogprobs(tokens), ["refusal"] = null };
        if (!request.Stream)
        {
            var (results, logprobs) = await Generate(m, new[] { ids }, request, null, arrival, cancel);
            var choices = new JsonArray(results.Select((r, i) => (JsonNode)new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = r.Text.Trim(), ["refusal"] = null },
                ["logprobs"] = Logprobs(logprobs[i]),
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
        JsonObject Choice(int index, JsonObject delta, JsonNode? logprobs, string? finish) => new()
        {
            ["index"] = index, ["delta"] = delta, ["logprobs"] = logprobs, ["finish_reason"] = finish,
        };
        var sse = new SseWriter(http);
        var trimmers = Enumerable.Range(0, request.N).Select(_ => new ReplyTrimmer()).ToArray();
        var opened = new bool[request.N];
        var (final, _) = await Generate(m, new[] { ids }, request, async (row, piece) =>
        {
            var text = trimmers[row].Push(piece.Text);
            if (text.Length == 0 && piece.Logprobs.Count == 0) return;
            var delta = new JsonObject();
            if (!opened[row]) { delta["role"] = "assistant"; opened[row] = true; }
            delta["content"] = text;
            await sse.SendAsync(Chunk(new JsonArray(Choice(row, delta, Logprobs(piece.Logprobs), null))));
        }, arrival, cancel);
        for (int i = 0; i < final.Length; i++)
        {
            var delta = opened[i] ? new JsonObject() : new JsonObject { ["role"] = "assistant", ["content"] = "" };
            await sse.SendAsync(Chunk(new JsonArray(Choice(i, delta, null, final[i].FinishReason))));
        }
        if (request.IncludeUsage)
        {
            var usage = Chunk(new JsonArray());
            usage["usage"] = Usage(final, request.N);
            await sse.SendAsync(usage);
        }
        await sse.DoneAsync();
    }

    /// <summary>
    /// Adds the n choices of every prompt to the model's running batch (choice c sampled with seed + c) and hands each
    /// piece to <paramref name="onPiece"/> as it arrives, with its choice's index. Returns each choice's result and its
    /// tokens' log-probabilities. A disconnect (<paramref name="cancel"/>) ends every choice at the batch's next step.
    /// </summary>
    /// <remarks>Records time to first token from the request's arrival (<paramref name="arrival"/>, so it includes any wait
    /// for a row), inter-token latency per choice, and token counts.</remarks>
    async Task<(GenerationResult[] Results, List<TokenLogprob>[] Logprobs)> Generate(ServedModel m, int[][] prompts, TextRequest request,
        Func<int, DecodedPiece, Task>? onPiece, long arrival, CancellationToken cancel)
    {
        int n = request.N, rows = prompts.Length * n;
        var sequences = new BatchedSequence[rows];
        var logprobs = Enumerable.Range(0, rows).Select(_ => new List<TokenLogprob>()).ToArray();
        try
        {
            for (int r = 0; r < rows; r++)
                sequences[r] = m.Batcher.Add(prompts[r / n], request.Options with { Seed = request.Options.Seed + r % n }, request.Logprobs, cancel);
            var pieces = Channel.CreateUnbounded<(int Row, DecodedPiece Piece)>(new UnboundedChannelOptions { SingleReader = true });
            var pumps = sequences.Select((s, r) => Pump(s, r, pieces.Writer, cancel)).ToArray();
            _ = Task.WhenAll(pumps).ContinueWith(t => pieces.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
            var last = new long?[rows];
            await foreach (var (row, piece) in pieces.Reader.ReadAllAsync(cancel))
            {
                long now = Stopwatch.GetTimestamp();
                if (last[row] is { } before) metrics.InterTokenLatency(Stopwatch.GetElapsedTime(before, now));
                else if (last.All(l => l is null)) metrics.TimeToFirstToken(Stopwatch.GetElapsedTime(arrival, now));
                last[row] = now;
                logprobs[row].AddRange(piece.Logprobs);
                if (onPiece is not null) await onPiece(row, piece);
            }
            var results = await Task.WhenAll(sequences.Select(s => s.Completion));
            // The n copies of a prompt read it once (as usage counts it).
            metrics.Tokens(results.Where((_, i) => i % n == 0).Sum(r => r.PromptTokens), results.Sum(r => r.GeneratedTokens));
            return (results, logprobs);
        }
        catch (ParameterException e) { throw TextRequest.FromLibrary(e); }
        finally
        {
            // A failed or abandoned request leaves the batch at once.
            foreach (var s in sequences) s?.Cancel();
        }
    }

    /// <summary>One greedy-or-sampled completion by the served model <paramref name="model"/> of the prompt <paramref name="build"/> makes for it, in its running batch (for routes that build their own prompt).</summary>
    /// <param name="model">The served model's id.</param>
    /// <param name="build">The whole prompt and any stop sequences beside <paramref name="o"/>'s, made once the model is loaded (e.g. through its chat template).</param>
    /// <param name="o">Sampling and length options.</param>
    /// <param name="what">How a too-long prompt is named in the 400.</param>
    /// <param name="param">The request field to blame for it.</param>
    /// <param name="cancel">Ends the request's sequence in the batch.</param>
    internal async Task<string> CompleteAsync(string model, Func<ServedModel, (string Prompt, IReadOnlyList<string> Stops)> build, GenerationOptions o,
                                             string what, string param, CancellationToken cancel)
    {
        long arrival = Stopwatch.GetTimestamp();
        using var lease = await models.AcquireAsync(model, cancel);
        var m = RequireText(lease.Model);
        var (prompt, stops) = build(m);
        if (stops.Count > 0) o = o with { StopSequences = o.StopSequences.Concat(stops).Distinct().ToArray() };
        int[] ids;
        lock (m.TokenizerLock) ids = PromptIds(m, prompt, what, param);
        var (results, _) = await Generate(m, new[] { ids }, new TextRequest(model, o, 1, false, false, -1), null, arrival, cancel);
        return results[0].Text;
    }

    static async Task Pump(BatchedSequence s, int row, ChannelWriter<(int, DecodedPiece)> into, CancellationToken cancel)
    {
        await foreach (var piece in s.Pieces.ReadAllAsync(cancel)) await into.WriteAsync((row, piece), cancel);
    }

    /// <summary>OpenAI chat's <c>logprobs.content</c>: token, logprob, bytes and top_logprobs per token.</summary>
    static JsonArray ChatLogprobs(IReadOnlyList<TokenLogprob> tokens)
    {
        static JsonObject Entry(TokenLogprob t) => new()
        {
            ["token"] = t.Token, ["logprob"] = t.Logprob, ["bytes"] = new JsonArray(t.Bytes.Select(b => (JsonNode)(int)b).ToArray()),
        };
        return new JsonArray(tokens.Select(t =>
        {
            var e = Entry(t);
            e["top_logprobs"] = new JsonArray(t.Top.Select(a => (JsonNode)Entry(a)).ToArray());
            return (JsonNode)e;
        }).ToArray());
    }

    /// <summary>OpenAI completions' <c>logprobs</c>: parallel arrays of tokens, their logprobs, top alternatives and text offsets.</summary>
    static JsonObject CompletionLogprobs(IReadOnlyList<TokenLogprob> tokens, ref int offset)
    {
        var textOffsets = new JsonArray();
        foreach (var t in tokens) { textOffsets.Add(offset); offset += t.Token.Length; }
        return new JsonObject
        {
            ["tokens"] = new JsonArray(tokens.Select(t => (JsonNode)t.Token).ToArray()),
            ["token_logprobs"] = new JsonArray(tokens.Select(t => (JsonNode)t.Logprob).ToArray()),
            ["top_logprobs"] = new JsonArray(tokens.Select(t =>
            {
                var top = new JsonObject();
                foreach (var a in t.Top) top[a.Token] = a.Logprob;       // OpenAI's shape: a map, so tokens with one text merge
                return (JsonNode)top;
            }).ToArray()),
            ["text_offset"] = textOffsets,
        };
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

    /// <summary>The prompt's token ids (with the start token the tokenizer asks for), refused with a 400 when longer than the context. Call under the tokenizer lock.</summary>
    static int[] PromptIds(ServedModel m, string prompt, string what, string param)
    {
        int[] ids;
        try { ids = ContinuousBatcher.PromptIds(m.Loaded.Tokenizer, prompt); }
        catch (ParameterException) { throw ApiException.Invalid(param, $"{param} must not be empty: the model has no start-of-text token to begin from", "invalid_value"); }
        catch (GenSharpException e) { throw ApiException.Invalid(param, $"the {what} cannot be encoded: {e.Message}", "invalid_value"); }
        int context = m.Loaded.Model.ContextLength;
        if (ids.Length > context)
            throw ApiException.Invalid(param, $"the {what} is {ids.Length} tokens but model '{m.Name}' has a context of {context} tokens; shorten it",
                "context_length_exceeded");
        return ids;
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
