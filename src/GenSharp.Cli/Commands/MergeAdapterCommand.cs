using System.ComponentModel;
using GenSharp.Checkpoints;
using GenSharp.Models.Gpt;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class MergeAdapterSettings : CliSettings
{
    [CommandArgument(0, "<ADAPTER>")]
    [Description("a LoRA adapter folder in PEFT's format (adapter_config.json + adapter_model.safetensors)")]
    public string Adapter { get; init; } = "";

    [CommandOption("--base <MODEL>")]
    [Description("the base model folder (default: the adapter's base_model_name_or_path)")]
    public string? Base { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("the merged model folder, of the base's kind (GenSharp checkpoint or Hugging Face folder) (required)")]
    public string? Out { get; init; }
}

/// <summary><c>gensharp merge-adapter ADAPTER --out DIR</c>: the base with the adapter's (α/r)·B·A added to its weights, as a model folder.</summary>
public sealed class MergeAdapterCommand : Command<MergeAdapterSettings>
{
    public override int Execute(CommandContext context, MergeAdapterSettings s, CancellationToken cancel)
    {
        var outDir = CliInputs.Required(s.Out, "out", "merge-adapter");
        if (!Models.Lora.PeftAdapter.IsAdapterFolder(s.Adapter))
            throw new GenSharpException($"{s.Adapter} has no {Models.Lora.PeftAdapter.ConfigFile}; give a LoRA adapter folder");
        using var m = s.Base is null ? CliInputs.LoadText(s.Adapter, s) : CliInputs.LoadText(s.Base, s, s.Adapter);
        MergedModelFolder.Save(m, (DecoderNetwork)m.Network!, outDir);
        Console.WriteLine($"merged {m.Adapter} into {m.Path} → {outDir}");
        Console.WriteLine($"text:       gensharp generate {outDir} --prompt TEXT");
        return 0;
    }
}
