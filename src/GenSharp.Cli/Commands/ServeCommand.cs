using System.ComponentModel;
using System.Runtime.InteropServices;
using GenSharp.Server;
using Microsoft.Extensions.Logging;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ServeSettings : CliSettings
{
    [CommandOption("--models <DIR>")]
    [Description("a folder whose sub-folders (gpt run folders, Hugging Face model folders) are the models, named by their folder (required)")]
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
}

/// <summary><c>gensharp serve --models DIR</c>: an OpenAI-compatible HTTP server until Ctrl-C or SIGTERM.</summary>
public sealed class ServeCommand : Command<ServeSettings>
{
    public override int Execute(CommandContext context, ServeSettings s, CancellationToken cancel)
    {
        GenSharpCli.Prepare(s);
        if (s.Models is null) throw new ParameterException("models", "is required: a folder whose sub-folders are models");
        var options = new ServerOptions { ModelsDir = s.Models, Host = s.Host, Port = s.Port, Device = s.Device, MaxLoadedModels = s.MaxLoaded };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stop.Cancel(); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        try
        {
            var server = GenSharpServer.StartAsync(options, log => log.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning))
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
