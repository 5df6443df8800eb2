using System.ComponentModel;
using GenSharp.Checkpoints;
using GenSharp.Text.Chat;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ChatSettings : TextSettings
{
    [CommandOption("--system <TEXT>")]
    [Description("a system message that starts the conversation and is never dropped")]
    public string? System { get; init; }

    [CommandOption("--template <NAME>")]
    [Description("chatml, llama3 or plain (default: the model folder's chat_template when recognised, else a built-in)")]
    public string? Template { get; init; }

    [CommandOption("--stats")]
    [Description("print prompt and generated token counts and the finish reason of each reply on standard error")]
    public bool Stats { get; init; }
}

/// <summary><c>gensharp chat CKPT</c>: a streaming conversation over standard input; Ctrl-C stops the current reply only.</summary>
public sealed class ChatCommand : Command<ChatSettings>
{
    public override int Execute(CommandContext context, ChatSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.LoadText(s.Checkpoint, s, s.Adapter);
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        var selection = ChatTemplates.Select(s.Template, m.Path);
        if (selection.Notice is not null) Console.Error.WriteLine($"gensharp chat: {selection.Notice}");
        else Console.Error.WriteLine($"gensharp chat: template {selection.Template.Name} (from {(selection.Source == "template" ? "--template" : selection.Source)})");
        var options = s.Options(0.7);
        var session = new ChatSession(lm, tokenizer, selection.Template, s.System);
        Console.Error.WriteLine($"gensharp chat: {session.DescribeContext(options)} (--max-tokens sets the reply's share)");
        bool interactive = !Console.IsInputRedirected;
        if (interactive) Console.Error.WriteLine("gensharp chat: type a message and press Enter; /reset forgets the conversation, /exit quits");
        CancellationTokenSource? turn = null;
        // Ctrl+C during a reply stops that reply only; at the prompt it ends the program as usual.
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (turn is { } t)
            {
                e.Cancel = true;
                try { t.Cancel(); } catch (ObjectDisposedException) { }             // the reply just ended
            }
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            for (int n = 0; ; n++)
            {
                if (interactive) { Console.Write("> "); Console.Out.Flush(); }
                var line = Console.In.ReadLine();
                if (line is null) break;                                                   // end of input
                var text = line.Trim();
                if (text.Length == 0) continue;
                if (text == "/exit") break;
                if (text == "/reset") { session.Reset(); Console.Error.WriteLine("gensharp chat: conversation forgotten"); continue; }
                if (text.StartsWith('/') && !text.Contains(' '))
                {
                    Console.Error.WriteLine($"gensharp chat: unknown command {text}; commands: /reset, /exit");
                    continue;
                }
                turn = new CancellationTokenSource();
                try
                {
                    // Each turn its own seed, so a repeated message can get a new reply while a run stays repeatable.
                    foreach (var piece in session.Reply(text, options with { Seed = s.Seed + n },
                                 notice => Console.Error.WriteLine($"gensharp chat: {notice}"), turn.Token))
                    {
                        Console.Write(piece);
                        Console.Out.Flush();
                    }
                    Console.WriteLine();
                    if (s.Stats && session.LastReply is { } r)
                        Console.Error.WriteLine($"gensharp chat: {r.PromptTokens} prompt tokens, {r.GeneratedTokens} generated, finish {r.FinishReason}, {session.History.Count} messages in history");
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine();
                    Console.Error.WriteLine("gensharp chat: reply interrupted (not kept in the history)");
                }
                catch (GenSharpException e)
                {
                    Console.Error.WriteLine($"gensharp chat: {e.Message}");
                }
                finally
                {
                    var t = turn;
                    turn = null;
                    t.Dispose();
                }
            }
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        return 0;
    }
}
