using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// Server-Sent Events as OpenAI streams them: <c>data: {json}\n\n</c> per chunk, <c>data: [DONE]\n\n</c> at the end.
/// The response starts with the first chunk, so an error found before it (a bad prompt) is still an ordinary JSON error.
/// </summary>
public sealed class SseWriter(HttpContext http)
{
    /// <summary>True once the event stream's headers went out.</summary>
    public bool Started { get; private set; }

    public async Task SendAsync(JsonNode chunk) => await WriteAsync("data: " + chunk.ToJsonString() + "\n\n");

    public async Task DoneAsync() => await WriteAsync("data: [DONE]\n\n");

    async Task WriteAsync(string text)
    {
        if (!Started)
        {
            http.Response.StatusCode = 200;
            http.Response.ContentType = "text/event-stream; charset=utf-8";
            http.Response.Headers.CacheControl = "no-cache";
            http.Response.Headers["X-Accel-Buffering"] = "no";
            Started = true;
        }
        await http.Response.WriteAsync(text, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }
}
