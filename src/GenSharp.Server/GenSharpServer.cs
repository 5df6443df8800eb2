using System.Net;
using System.Text.Json.Nodes;
using GenSharp.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>
/// The OpenAI-compatible HTTP server (Kestrel, minimal APIs) over the models of a folder: <c>GET /v1/models</c>,
/// <c>GET /health</c>, <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c>. Errors are answered in OpenAI's
/// JSON shape; no response carries a stack trace. Start with <see cref="StartAsync"/>, stop with <see cref="StopAsync"/>.
/// </summary>
public sealed class GenSharpServer : IAsyncDisposable
{
    readonly WebApplication _app;

    GenSharpServer(WebApplication app, ModelRegistry models, Uri baseAddress)
    {
        _app = app;
        Models = models;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:8000</c> (the real port when 0 was asked).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The models it serves.</summary>
    public ModelRegistry Models { get; }

    /// <summary>Starts listening; returns once the port is bound.</summary>
    /// <param name="options">What to serve and where.</param>
    /// <param name="logging">Adds log providers (none by default: tests and embedding hosts stay quiet).</param>
    public static async Task<GenSharpServer> StartAsync(ServerOptions options, Action<ILoggingBuilder>? logging = null, CancellationToken cancel = default)
    {
        options.Validate();
        var device = TorchRuntime.ParseDevice(options.Device);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>(), ApplicationName = "GenSharp.Server" });
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.AddServerHeader = false;
            if (options.Host == "localhost") k.ListenLocalhost(options.Port);
            else if (IPAddress.TryParse(options.Host, out var ip)) k.Listen(ip, options.Port);
            else throw new ParameterException("host", $"must be an IP address or localhost, got '{options.Host}'");
        });
        var models = new ModelRegistry(options.ModelsDir, device, options.MaxLoadedModels);
        builder.Services.AddSingleton(models);
        var app = builder.Build();
        var text = new TextEndpoints(models, options);
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GenSharp.Server");
        app.Use((http, next) => HandleErrors(http, next, log));
        app.UseStatusCodePages(async status =>
        {
            // Routing found nothing (404) or the route takes another method (405): answer in the same error shape.
            var http = status.HttpContext;
            int code = http.Response.StatusCode;
            string message = code switch
            {
                404 => $"no route {http.Request.Method} {http.Request.Path}; the server has GET /v1/models, GET /health, POST /v1/completions, POST /v1/chat/completions",
                405 => $"{http.Request.Path} does not accept {http.Request.Method}",
                _ => $"HTTP {code}",
            };
            await WriteError(http, new ApiException(code, message, code: code == 405 ? "method_not_allowed" : code == 404 ? "unknown_url" : null));
        });
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        app.MapGet("/v1/models", (HttpContext http) => ListModels(http, models));
        app.MapGet("/v1/models/{name}", (HttpContext http, string name) => GetModel(http, models, name));
        app.MapPost("/v1/completions", text.Completions);
        app.MapPost("/v1/chat/completions", text.ChatCompletions);
        PlaygroundEndpoints.Map(app, options.ModelsDir);
        try
        {
            await app.StartAsync(cancel);
        }
        catch
        {
            await app.DisposeAsync();
            models.Dispose();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // Kestrel reports a wildcard or [::1] form; clients need a connectable URL.
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "[::1]"));
        return new GenSharpServer(app, models, uri);
    }

    static async Task ListModels(HttpContext http, ModelRegistry models)
    {
        var data = new JsonArray(models.List().Select(m => (JsonNode)ModelJson(m.Name, m.Created)).ToArray());
        await TextEndpoints.WriteJson(http, 200, new JsonObject { ["object"] = "list", ["data"] = data });
    }

    static async Task GetModel(HttpContext http, ModelRegistry models, string name)
    {
        var dir = models.Resolve(name);
        await TextEndpoints.WriteJson(http, 200, ModelJson(name, new DateTimeOffset(Directory.GetLastWriteTimeUtc(dir), TimeSpan.Zero)));
    }

    static JsonObject ModelJson(string name, DateTimeOffset created) => new()
    {
        ["id"] = name, ["object"] = "model", ["created"] = created.ToUnixTimeSeconds(), ["owned_by"] = "gensharp",
    };

    /// <summary>Turns what a handler threw into an OpenAI error response; a client that went away is not an error.</summary>
    static async Task HandleErrors(HttpContext http, RequestDelegate next, ILogger log)
    {
        try
        {
            await next(http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client disconnected: generation stopped with it; nothing to answer.
        }
        catch (Exception e)
        {
            var error = e switch
            {
                ApiException a => a,
                ParameterException p => TextRequest.FromLibrary(p),
                GenSharpException g => new ApiException(400, g.Message),
                BadHttpRequestException b when b.StatusCode == 413 => new ApiException(413, "the request body is too large", code: "request_too_large"),
                BadHttpRequestException b => new ApiException(b.StatusCode, "bad request"),
                _ => null,
            };
            if (error is null)
            {
                log.LogError(e, "unexpected error in {Method} {Path}", http.Request.Method, http.Request.Path);
                error = new ApiException(500, "internal server error; the server log has the details", code: "internal_error");
            }
            if (http.RequestAborted.IsCancellationRequested) return;
            await WriteError(http, error);
        }
    }

    static async Task WriteError(HttpContext http, ApiException e)
    {
        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = e.Message, ["type"] = e.Type, ["param"] = e.Param, ["code"] = e.Code },
        };
        if (http.Response.HasStarted)
        {
            // Mid-stream: the status is sent; tell an SSE client in-band and end the stream.
            await http.Response.WriteAsync("data: " + body.ToJsonString() + "\n\n", http.RequestAborted);
            return;
        }
        http.Response.Clear();
        await TextEndpoints.WriteJson(http, e.Status, body);
    }

    /// <summary>Stops accepting requests, lets running ones finish (up to the host's shutdown timeout), unloads the models.</summary>
    public async Task StopAsync(CancellationToken cancel = default)
    {
        await _app.StopAsync(cancel);
        Models.Dispose();
    }

    /// <summary>Completes when the server has stopped.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancel = default) => _app.WaitForShutdownAsync(cancel);

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (ObjectDisposedException) { }
        await _app.DisposeAsync();
    }
}
