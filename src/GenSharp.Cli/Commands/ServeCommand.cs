using System.ComponentModel;
using System.Runtime.InteropServices;
using GenSharp.Server;
using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ServeSettings : CliSettings
{
    [CommandOption("--models <DIR>")]
    [Description("a folder whose sub-folders (gpt and image-family run folders or checkpoints, Hugging Face model folders) are the models, named by their folder (required)")]
    public string? Models { get; init; }

    [CommandOption("--host <ADDRESS>")]
    [Description("the address to listen on: an IP address or localhost; 0.0.0.0 exposes the server to the network")]
    [DefaultValue("127.0.0.1")]
    public string Host { get; init; } = "127.0.0.1";

    [CommandOption("--port <N>")]
    [Description("the TCP port (0 picks a free one)")]
    [DefaultValue(8000)]
    public int Port { get; init; } = 8000;

    [CommandOption("--max-loaded <N>")]
    [Description("most models kept loaded at once; the least recently used is unloaded beyond it")]
    [DefaultValue(2)]
    public int MaxLoaded { get; init; } = 2;

    [CommandOption("--api-key-file <FILE>")]
    [Description("a file of API keys, one a line; clients then send Authorization: Bearer KEY or X-Api-Key: KEY (only their SHA-256 hashes are kept in memory; /health stays open)")]
    public string? ApiKeyFile { get; init; }

    [CommandOption("--max-concurrent <N>")]
    [Description("requests under /v1 served at once (text requests of one model share its batch); more wait in a queue")]
    [DefaultValue(64)]
    public int MaxConcurrent { get; init; } = 64;

    [CommandOption("--max-batch <N>")]
    [Description("sequences a text model decodes at once (continuous batching; each of n choices is one); more wait for a row. 1 = one at a time")]
    [DefaultValue(16)]
    public int MaxBatch { get; init; } = 16;

    [CommandOption("--max-queue <N>")]
    [Description("requests that may wait for a slot; beyond it a 429 with Retry-After")]
    [DefaultValue(32)]
    public int MaxQueue { get; init; } = 32;

    [CommandOption("--rate-limit <N>")]
    [Description("requests per minute for each API key (each client address without keys); 0 = no limit; beyond it a 429 with Retry-After")]
    [DefaultValue(0)]
    public int RateLimit { get; init; }

    [CommandOption("--max-total-tokens <N>")]
    [Description("largest n × max_tokens one text request may ask for")]
    [DefaultValue(32768L)]
    public long MaxTotalTokens { get; init; } = 32768;

    [CommandOption("--max-images <N>")]
    [Description("largest n one image request may ask for")]
    [DefaultValue(16)]
    public int MaxImages { get; init; } = 16;

    [CommandOption("--cors <ORIGIN>")]
    [Description("allow browser pages of this origin (e.g. https://example.com) to call the server; CORS is off without it")]
    public string? Cors { get; init; }

    [CommandOption("--log-prompts")]
    [Description("log prompts and messages (off: logs never contain what clients send); logs at information level")]
    public bool LogPrompts { get; init; }
}

/// <summary><c>gensharp serve --models DIR</c>: an OpenAI-compatible HTTP server until Ctrl-C or SIGTERM.</summary>
public sealed class ServeCommand : Command<ServeSettings>
{
    public override int Execute(CommandContext context, ServeSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        if (s.Models is null) throw new ParameterException("models", "is required: a folder whose sub-folders are models");
        var options = new ServerOptions
        {
            ModelsDir = s.Models, Host = s.Host, Port = s.Port, Device = s.Device, MaxLoadedModels = s.MaxLoaded,
            ApiKeyFile = s.ApiKeyFile, MaxConcurrentRequests = s.MaxConcurrent, MaxBatchRows = s.MaxBatch, MaxQueuedRequests = s.MaxQueue, RateLimitPerMinute = s.RateLimit,
            MaxTotalTokens = s.MaxTotalTokens, MaxImages = s.MaxImages, CorsOrigin = s.Cors, LogPrompts = s.LogPrompts,
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        try
        {
            var server = GenSharpServer.StartAsync(options, log => log.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(s.LogPrompts ? LogLevel.Information : LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning))
                .GetAwaiter().GetResult();
            var models = server.Models.List();
            Console.Error.WriteLine($"gensharp serve: {models.Count} model(s) in {s.Models}: {string.Join(", ", models.Select(m => m.Name))}");
            Console.Error.WriteLine($"gensharp serve: listening on {server.BaseAddress} (OpenAI API at {server.BaseAddress}v1); Ctrl-C stops");
            try { Task.Delay(Timeout.Infinite, stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            Console.Error.WriteLine("gensharp serve: stopping (running requests finish first)");
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
