using GenSharp.Runtime;
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

    [CommandOption("--rag-store <WHERE>")]
    [Description("where /v1/rag finds its indexes: the NAME.rag.sqlite files of --models (default), or a PostgreSQL + pgvector database as an Npgsql connection string (indexes made with 'rag ingest --store')")]
    public string? RagStore { get; init; }

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

    [CommandOption("--memory-budget <SIZE>")]
    [Description("most memory the loaded models may take, e.g. 2GB or 512MB (weights, plus a KV cache allowance of 4 sequences of up to 4096 tokens for text models); least recently used models are unloaded beyond it, a larger model is refused (HTTP 507); default: half the machine's memory")]
    public string? MemoryBudget { get; init; }

    [CommandOption("--drain-seconds <N>")]
    [Description("on Ctrl-C or SIGTERM, how long running requests (streams included) may take to finish while new ones get 503; a second Ctrl-C or SIGTERM cuts them off at once")]
    [DefaultValue(30)]
    public int DrainSeconds { get; init; } = 30;

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

    [CommandOption("--no-watermark")]
    [Description("images: answer them without the invisible watermark (pixel mark on every PNG, Tree-Ring for deterministic DDIM diffusion)")]
    public bool NoWatermark { get; init; }

    [CommandOption("--watermark-key <FILE>")]
    [Description("images: the watermark key file (default: watermark.key in $GENSHARP_CONFIG_DIR or ~/.config/gensharp, created on first use)")]
    public string? WatermarkKey { get; init; }

    [CommandOption("--log-prompts")]
    [Description("log prompts and messages (off: logs never contain what clients send); logs at information level")]
    public bool LogPrompts { get; init; }
}

/// <summary>
/// <c>gensharp serve --models DIR</c>: an OpenAI-compatible HTTP server until Ctrl-C or SIGTERM, which drain it (running
/// requests finish, new ones get 503, up to --drain-seconds) and exit 0; a second signal cuts the drain short.
/// </summary>
public sealed class ServeCommand : Command<ServeSettings>
{
    public override int Execute(CommandContext context, ServeSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        if (s.Models is null) throw new ParameterException("models", "is required: a folder whose sub-folders are models");
        if (s.DrainSeconds < 0) throw new ParameterException("drain_seconds", $"must be ≥ 0, got {s.DrainSeconds}");
        var options = new ServerOptions
        {
            ModelsDir = s.Models, RagStore = s.RagStore, Host = s.Host, Port = s.Port, Device = s.Device, MaxLoadedModels = s.MaxLoaded,
            MemoryBudgetBytes = s.MemoryBudget is null ? null : ServerOptions.ParseBytes("memory_budget", s.MemoryBudget),
            DrainTimeout = TimeSpan.FromSeconds(s.DrainSeconds),
            ApiKeyFile = s.ApiKeyFile, MaxConcurrentRequests = s.MaxConcurrent, MaxBatchRows = s.MaxBatch, MaxQueuedRequests = s.MaxQueue, RateLimitPerMinute = s.RateLimit,
            MaxTotalTokens = s.MaxTotalTokens, MaxImages = s.MaxImages, CorsOrigin = s.Cors, LogPrompts = s.LogPrompts,
            Watermark = !s.NoWatermark, WatermarkKeyFile = s.WatermarkKey,
        };
        // A server's many allocating threads would otherwise keep opening glibc arenas (resident memory creeping up for minutes).
        TorchRuntime.LimitMallocArenas(2);
        // The first Ctrl-C or SIGTERM starts the drain; a second one cuts it short.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        using var cutOff = new CancellationTokenSource();
        void Signal()
        {
            if (stop.IsCancellationRequested) cutOff.Cancel();
            else stop.Cancel();
        }
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Signal(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Signal(); });
        try
        {
            var server = GenSharpServer.StartAsync(options, log => log.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(s.LogPrompts ? LogLevel.Information : LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning))
                .GetAwaiter().GetResult();
            var models = server.Models.List();
            Console.Error.WriteLine($"gensharp serve: {models.Count} model(s) in {s.Models}: {string.Join(", ", models.Select(m => m.Name))}");
            Console.Error.WriteLine($"gensharp serve: memory budget {ModelFootprint.Describe(server.Models.MemoryBudget)} for at most {server.Models.MaxLoaded} loaded model(s)");
            Console.Error.WriteLine($"gensharp serve: listening on {server.BaseAddress} (OpenAI API at {server.BaseAddress}v1); Ctrl-C stops");
            try { Task.Delay(Timeout.Infinite, stop.Token).GetAwaiter().GetResult(); }
            catch (OperationCanceledException) { }
            // StopAsync refuses new requests before it returns its task: the line below is true when printed.
            var stopping = server.StopAsync(cutOff.Token);
            Console.Error.WriteLine($"gensharp serve: draining: {server.RunningRequests} running request(s) may take up to {s.DrainSeconds} s to finish, new ones get 503; Ctrl-C again stops at once");
            stopping.GetAwaiter().GetResult();
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Console.Error.WriteLine("gensharp serve: stopped");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
