using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using GenSharp.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenSharp.Server;

/// <summary>
/// The OpenAI-compatible HTTP server (Kestrel, minimal APIs) over the models of a folder: <c>GET /v1/models</c>,
/// <c>GET /health</c>, <c>GET /metrics</c>, <c>POST /v1/completions</c>, <c>POST /v1/chat/completions</c>,
/// <c>POST /v1/images/generations</c>, <c>POST /v1/embeddings</c>, <c>GET /v1/rag</c>, <c>POST /v1/rag/{index}/ask</c>. Errors are answered in OpenAI's JSON shape; no response carries a stack trace.
/// With API keys every route but /health needs one; requests under /v1 pass a per-key rate limit and a global
/// concurrency limit with a bounded queue. Start with <see cref="StartAsync"/>, stop with <see cref="StopAsync"/>, which
/// drains: running requests finish (up to <see cref="ServerOptions.DrainTimeout"/>) while new ones get 503. The server
/// never reacts to process signals itself; its host (<c>gensharp serve</c>) calls <see cref="StopAsync"/> on them.
/// </summary>
public sealed class GenSharpServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly IDisposable[] _limiters;
    readonly Drain _drain;
    readonly TimeSpan _drainTimeout;
    readonly object _stopSync = new();
    Task? _stopping;

    GenSharpServer(WebApplication app, ModelRegistry models, Uri baseAddress, ServerMetrics metrics, IDisposable[] limiters, Drain drain, TimeSpan drainTimeout)
    {
        _app = app;
        Models = models;
        BaseAddress = baseAddress;
        Metrics = metrics;
        _limiters = limiters;
        _drain = drain;
        _drainTimeout = drainTimeout;
    }

    /// <summary>True once stopping has begun: new requests get 503 while running ones finish.</summary>
    public bool Draining => _drain.Draining;

    /// <summary>Requests being answered now (not counting those refused while draining).</summary>
    public int RunningRequests => _drain.Running;

    /// <summary>The counters <c>GET /metrics</c> renders.</summary>
    public ServerMetrics Metrics { get; }

    /// <summary>Where the server listens, e.g. <c>http://127.0.0.1:8000</c> (the real port when 0 was asked).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The models it serves.</summary>
    public ModelRegistry Models { get; }

    /// <summary>Starts listening; returns once the port is bound.</summary>
    /// <param name="options">What to serve and where.</param>
    /// <param name="logging">Adds log providers (none by default: tests and embedding hosts stay quiet).</param>
    /// <param name="cancel">Gives up starting.</param>
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
        var keys = options.ApiKeyFile is null ? null : ApiKeys.Load(options.ApiKeyFile);
        const string CorsPolicy = "gensharp";
        if (options.CorsOrigin is { } origin)
            builder.Services.AddCors(c => c.AddPolicy(CorsPolicy, p => p.WithOrigins(origin.TrimEnd('/')).AllowAnyHeader().WithMethods("GET", "POST")));
        // Signals are the host's business (gensharp serve drains on them): no console lifetime stopping the app behind its back.
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        var models = new ModelRegistry(options.ModelsDir, device, options.MaxLoadedModels, options.EffectiveMemoryBudget) { MaxBatchRows = options.MaxBatchRows };
        builder.Services.AddSingleton(models);
        var drain = new Drain();
        var app = builder.Build();
        var concurrency = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentRequests, QueueLimit = options.MaxQueuedRequests, QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        PartitionedRateLimiter<string>? perKey = options.RateLimitPerMinute == 0 ? null : PartitionedRateLimiter.Create<string, string>(key =>
            RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = options.RateLimitPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true,
            }));
        var metrics = new ServerMetrics(() =>
        {
            var st = concurrency.GetStatistics()!;
            return (st.CurrentQueuedCount, options.MaxConcurrentRequests - st.CurrentAvailablePermits);
        }, () => models.LoadedNames.Count, () => models.LoadedBytes, models.MemoryBudget, () => drain.Draining, () =>
        {
            long rows = 0, waiting = 0;
            foreach (var m in models.Loaded.Where(m => m.IsText)) { rows += m.Batcher.Running; waiting += m.Batcher.Waiting; }
            return (rows, waiting);
        });
        models.OnDecodeStep = metrics.DecodeStep;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GenSharp.Server");
        var text = new TextEndpoints(models, options, metrics, log);
        var images = new ImageEndpoints(models, options, metrics, log);
        var embeddings = new EmbeddingEndpoints(options);
        var speech = new SpeechEndpoints(models, options);
        var rag = new RagEndpoints(options, embeddings, text);
        app.Use((http, next) => CountAndLog(http, next, metrics, log));
        app.Use((http, next) => HandleErrors(http, next, log));
        app.Use(drain.Track);
        if (options.CorsOrigin is not null) app.UseCors(CorsPolicy);
        app.Use((http, next) => Guard(http, next, keys, perKey, concurrency));
        app.UseStatusCodePages(async status =>
        {
            // Routing found nothing (404) or the route takes another method (405): answer in the same error shape.
            var http = status.HttpContext;
            int code = http.Response.StatusCode;
            string message = code switch
            {
                404 => $"no route {http.Request.Method} {http.Request.Path}; the server has GET /v1/models, GET /health, GET /metrics, POST /v1/completions, POST /v1/chat/completions, POST /v1/images/generations, POST /v1/embeddings, GET /v1/rag, POST /v1/rag/{{index}}/ask",
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
        app.MapPost("/v1/images/generations", images.Generations);
        app.MapPost("/v1/embeddings", embeddings.Embeddings);
        app.MapPost("/v1/audio/speech", speech.Speech);
        app.MapGet("/v1/rag", rag.List);
        app.MapPost("/v1/rag/{index}/ask", (HttpContext http, string index) => rag.Ask(http, index));
        app.MapGet("/metrics", (HttpContext http) =>
        {
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return http.Response.WriteAsync(metrics.Render(), http.RequestAborted);
        });
        PlaygroundEndpoints.Map(app, options.ModelsDir);
        IDisposable[] limiters = perKey is null ? new IDisposable[] { concurrency, rag, embeddings } : new IDisposable[] { concurrency, perKey, rag, embeddings };
        try
        {
            await app.StartAsync(cancel);
        }
        catch
        {
            await app.DisposeAsync();
            models.Dispose();
            foreach (var l in limiters) l.Dispose();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // Kestrel reports a wildcard or [::1] form; clients need a connectable URL.
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1").Replace("[::]", "[::1]"));
        return new GenSharpServer(app, models, uri, metrics, limiters, drain, options.DrainTimeout);
    }

    /// <summary>
    /// Counts every request by route pattern and status, and logs method, path, status and time: never the body (prompts
    /// are logged by the endpoints only with <see cref="ServerOptions.LogPrompts"/>).
    /// </summary>
    static async Task CountAndLog(HttpContext http, RequestDelegate next, ServerMetrics metrics, ILogger log)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await next(http);
        }
        finally
        {
            string route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.Request(route, http.Response.StatusCode);
            log.LogInformation("{Method} {Path} {Status} {Milliseconds:F0} ms", http.Request.Method, http.Request.Path, http.Response.StatusCode, clock.Elapsed.TotalMilliseconds);
        }
    }

    /// <summary>
    /// API keys (all routes but /health and the playground's page and static files), then for /v1: the key's rate limit and a slot under the concurrency limit,
    /// held until the response ends. 401 without a valid key, 429 with Retry-After over a limit or with the queue full.
    /// </summary>
    static async Task Guard(HttpContext http, RequestDelegate next, ApiKeys? keys, PartitionedRateLimiter<string>? perKey, ConcurrencyLimiter concurrency)
    {
        // The health probe, CORS preflights and the playground's own files (no secrets; the page asks for the key) are open.
        var path = http.Request.Path;
        bool open = path.Equals("/health", StringComparison.OrdinalIgnoreCase) || HttpMethods.IsOptions(http.Request.Method)
            || HttpMethods.IsGet(http.Request.Method) && (path.Equals("/") || path.StartsWithSegments("/static"));
        if (open)
        {
            await next(http);
            return;
        }
        string client = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (keys is not null)
        {
            var presented = ApiKeys.Presented(http.Request);
            client = keys.Check(presented) ?? throw new ApiException(401,
                presented is null ? "an API key is required: send Authorization: Bearer KEY or X-Api-Key: KEY" : "the API key is not valid",
                code: "invalid_api_key", type: "authentication_error");
        }
        if (!http.Request.Path.StartsWithSegments("/v1"))
        {
            await next(http);
            return;
        }
        if (perKey is not null)
        {
            using var rate = perKey.AttemptAcquire(client);
            if (!rate.IsAcquired)
            {
                var wait = rate.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1);
                http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                throw new ApiException(429, "rate limit reached for this API key; retry after the time in Retry-After", code: "rate_limit_exceeded", type: "requests");
            }
        }
        using var slot = await concurrency.AcquireAsync(1, http.RequestAborted);
        if (!slot.IsAcquired)
        {
            http.Response.Headers.RetryAfter = "1";
            throw new ApiException(429, "the server is busy: every slot is taken and the queue is full; retry after the time in Retry-After", code: "server_busy", type: "requests");
        }
        await next(http);
    }

    static async Task ListModels(HttpContext http, ModelRegistry models)
    {
        var data = new JsonArray(models.List().Select(m => (JsonNode)ModelJson(m.Name, m.Created, ModelRegistry.KindOf(models.Resolve(m.Name)))).ToArray());
        await TextEndpoints.WriteJson(http, 200, new JsonObject { ["object"] = "list", ["data"] = data });
    }

    static async Task GetModel(HttpContext http, ModelRegistry models, string name)
    {
        var dir = models.Resolve(name);
        await TextEndpoints.WriteJson(http, 200, ModelJson(name, new DateTimeOffset(Directory.GetLastWriteTimeUtc(dir), TimeSpan.Zero), ModelRegistry.KindOf(dir)));
    }

    /// <summary>OpenAI's model object, plus GenSharp's <c>kind</c>: "text" (completions, chat), "image" (generations) or "speech" (audio/speech).</summary>
    static JsonObject ModelJson(string name, DateTimeOffset created, string? kind) => new()
    {
        ["id"] = name, ["object"] = "model", ["created"] = created.ToUnixTimeSeconds(), ["owned_by"] = "gensharp", ["kind"] = kind,
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
        // Clearing drops what a failed handler half-set; Retry-After, Connection (draining) and CORS headers belong to the error answer too.
        var keep = http.Response.Headers.Where(h => h.Key is "Retry-After" or "Connection" || h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase)).ToArray();
        http.Response.Clear();
        foreach (var (name, value) in keep) http.Response.Headers[name] = value;
        await TextEndpoints.WriteJson(http, e.Status, body);
    }

    /// <summary>
    /// Drains, then stops: from now on new requests get 503 (<c>server_shutting_down</c>; <c>/health</c> answers 503
    /// "draining", <c>/metrics</c> still answers) while running ones, streams included, finish; after
    /// <see cref="ServerOptions.DrainTimeout"/>, or when <paramref name="cancel"/> fires, those still running are cut off.
    /// Then the port is closed and the models unloaded. Calling it again waits for the same stop.
    /// </summary>
    public Task StopAsync(CancellationToken cancel = default)
    {
        lock (_stopSync) return _stopping ??= StopOnceAsync(cancel);
    }

    async Task StopOnceAsync(CancellationToken cancel)
    {
        bool drained = await _drain.DrainAsync(_drainTimeout, cancel);
        // Drained: Kestrel closes idle connections and returns. Not drained: a cancelled token makes it abort the
        // connections still open, which cancels their requests (RequestAborted) and so their generation.
        await _app.StopAsync(drained ? CancellationToken.None : new CancellationToken(canceled: true));
        Models.Dispose();
        foreach (var l in _limiters) l.Dispose();
    }

    /// <summary>Counts running requests and refuses new ones once draining has begun.</summary>
    sealed class Drain
    {
        int _running;
        volatile bool _draining;

        public bool Draining => _draining;
        public int Running => Volatile.Read(ref _running);

        public async Task Track(HttpContext http, RequestDelegate next)
        {
            if (_draining)
            {
                // Tell HTTP/1.1 clients not to reuse the connection: the port closes once the running requests end.
                http.Response.Headers.Connection = "close";
                var path = http.Request.Path;
                if (path.Equals("/metrics", StringComparison.OrdinalIgnoreCase)) { await next(http); return; }
                if (path.Equals("/health", StringComparison.OrdinalIgnoreCase))
                {
                    await TextEndpoints.WriteJson(http, 503, new JsonObject { ["status"] = "draining" });
                    return;
                }
                throw new ApiException(503, "the server is shutting down and takes no new requests; retry on another instance or after it restarts",
                    code: "server_shutting_down");
            }
            Interlocked.Increment(ref _running);
            try { await next(http); }
            finally { Interlocked.Decrement(ref _running); }
        }

        /// <summary>Refuses new requests from now on; true once no request runs, false when the time ran out or <paramref name="cancel"/> fired.</summary>
        public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken cancel)
        {
            _draining = true;
            var clock = Stopwatch.StartNew();
            // A request that passed the check just before the flag counts as running, so polling the count is race-free.
            while (Running > 0)
            {
                if (clock.Elapsed >= timeout || cancel.IsCancellationRequested) return false;
                try { await Task.Delay(TimeSpan.FromMilliseconds(50), cancel); }
                catch (OperationCanceledException) { return false; }
            }
            return true;
        }
    }

    /// <summary>A host lifetime that ignores Ctrl-C and SIGTERM (ASP.NET's default one would stop the app without draining).</summary>
    sealed class EmbeddedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Completes when the server has stopped.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancel = default) => _app.WaitForShutdownAsync(cancel);

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); } catch (ObjectDisposedException) { }
        await _app.DisposeAsync();
    }
}
