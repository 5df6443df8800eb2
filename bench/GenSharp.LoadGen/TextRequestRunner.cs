using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.LoadGen;

/// <summary>What one streamed text request measured.</summary>
sealed record TextResult(bool Ok, string? Error, double? FirstTokenMs, List<double> InterTokenMs, int CompletionTokens, int Chunks, int? PromptTokens, bool UsageReported);

/// <summary>
/// Sends one streamed completion or chat request and reads its Server-Sent Events: time to the first chunk with text,
/// the gaps between content chunks, and the token count from the final usage chunk (else the content chunks).
/// </summary>
sealed class TextRequestRunner(HttpClient http, LoadOptions o)
{
    public async Task<TextResult> RunAsync(string prompt, long seed, int maxTokens, CancellationToken cancel)
    {
        var body = new JsonObject
        {
            ["model"] = o.Model, ["max_tokens"] = maxTokens, ["temperature"] = o.Temperature, ["seed"] = seed,
            ["stream"] = true, ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        if (o.Endpoint == "chat") body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt });
        else body["prompt"] = prompt;
        if (o.IgnoreEos) body["ignore_eos"] = true;
        var path = o.Endpoint == "chat" ? "v1/chat/completions" : "v1/completions";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(o.Url, path))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var itl = new List<double>();
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(cancel);
                return Failed($"HTTP {(int)response.StatusCode}: {OneLine(text)}", itl);
            }
            using var stream = await response.Content.ReadAsStreamAsync(cancel);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            double? first = null, last = null;
            int chunks = 0;
            int? completion = null, promptTokens = null;
            bool done = false;
            var data = new StringBuilder();
            string? line;
            // An event is its data: lines up to a blank line; "[DONE]" ends the stream.
            while (!done && (line = await reader.ReadLineAsync(cancel)) is not null)
            {
                if (line.Length > 0)
                {
                    if (line.StartsWith("data:", StringComparison.Ordinal))
                    {
                        if (data.Length > 0) data.Append('\n');
                        data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
                    }
                    continue;
                }
                if (data.Length == 0) continue;
                var payload = data.ToString();
                data.Clear();
                if (payload == "[DONE]") { done = true; break; }
                var now = clock.Elapsed.TotalMilliseconds;
                JsonNode? node;
                try { node = JsonNode.Parse(payload); }
                catch (JsonException) { return Failed($"an event is not JSON: {OneLine(payload)}", itl); }
                if (node?["error"] is { } error) return Failed($"error event: {OneLine(error.ToJsonString())}", itl);
                if (node?["usage"] is JsonObject usage)
                {
                    completion = usage["completion_tokens"]?.GetValue<int>();
                    promptTokens = usage["prompt_tokens"]?.GetValue<int>();
                }
                if (Text(node).Length == 0) continue;
                chunks++;
                if (first is null) first = now;
                else itl.Add(now - last!.Value);
                last = now;
            }
            if (!done) return Failed("the stream ended without data: [DONE]", itl);
            return new TextResult(true, null, first, itl, completion ?? chunks, chunks, promptTokens, completion is not null);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { throw; }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return Failed($"{TextRequestRunner.Describe(e)}", itl);
        }
    }

    /// <summary>The text of the first choice of a chunk: completions' <c>text</c> or chat's <c>delta.content</c>.</summary>
    static string Text(JsonNode? chunk)
    {
        if (chunk?["choices"] is not JsonArray { Count: > 0 } choices) return "";
        var c = choices[0];
        var text = c?["text"] ?? c?["delta"]?["content"];
        return text is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
    }

    static TextResult Failed(string error, List<double> itl) => new(false, error, null, itl, 0, 0, null, false);

    /// <summary>An exception and its inner ones on one line ("An error occurred while sending the request" says little alone).</summary>
    internal static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null; x = x.InnerException) parts.Add($"{x.GetType().Name}: {x.Message}");
        return OneLine(string.Join(" → ", parts));
    }

    internal static string OneLine(string text)
    {
        var s = text.ReplaceLineEndings(" ").Trim();
        return s.Length > 300 ? s[..300] + "…" : s;
    }
}
