using System.ComponentModel;
using GenSharp.Models;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class ListSettings : CliSettings
{
    [CommandArgument(0, "[FAMILY]")]
    [Description("one family, with a description of every config field (default: all families, fields and defaults)")]
    public string? Family { get; init; }
}

/// <summary><c>gensharp list [FAMILY]</c>: what each family does, what a first run costs, its config fields.</summary>
public sealed class ListCommand : Command<ListSettings>
{
    public override int Execute(CommandContext context, ListSettings s, CancellationToken cancel)
    {
        if (s.Family is { } name) PrintFamily(FamilyRegistry.Get(name), fields: true);
        else
            foreach (var f in FamilyRegistry.All) PrintFamily(f, fields: false);
        return 0;
    }

    /// <summary>A family's summary, guidance and fields (with descriptions when <paramref name="fields"/>).</summary>
    public static void PrintFamily(IFamily f, bool fields)
    {
        Console.WriteLine($"{f.Name} — {f.Summary} (default batch size {f.DefaultBatchSize})");
        if (f.Guidance is { } g) Console.WriteLine($"    {g.Describe("--steps")}");
        if (fields) Console.WriteLine($"\n{f.Name} config fields (train --set key=value):");
        foreach (var field in ConfigFields.Of(f.DefaultConfig))
            Console.WriteLine(fields && field.Description.Length > 0
                ? $"    {field.Name,-24} {field.Default,-12} {field.Description}"
                : $"    {field.Name,-24} {field.Default}");
    }
}
