using System.ComponentModel;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class HelpSettings : CommandSettings
{
    [CommandArgument(0, "[COMMAND]")]
    [Description("the command to explain ('train FAMILY' adds the family's config fields)")]
    public string? Command { get; init; }

    [CommandArgument(1, "[FAMILY]")]
    [Description("with 'train': the family whose fields to list")]
    public string? Family { get; init; }
}

/// <summary><c>gensharp help [COMMAND]</c>; <see cref="GenSharpCli.Run"/> answers it before parsing, this class gives it a help page.</summary>
public sealed class HelpCommand : Command<HelpSettings>
{
    public override int Execute(CommandContext context, HelpSettings s, CancellationToken cancel) =>
        GenSharpCli.Run(new[] { "help", s.Command, s.Family }.OfType<string>().ToArray());
}
