using System.ComponentModel;
using GenSharp.Sampling;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

/// <summary>Decoding options shared by generate and chat.</summary>
public class TextSettings : CliSettings
{
    [CommandArgument(0, "<CKPT>")]
    [Description("a gpt run folder, a Hugging Face model folder (gpt2, llama, qwen2, mistral), or a LoRA adapter folder whose base_model_name_or_path is a folder here")]
    public string Checkpoint { get; init; } = "";

    [CommandOption("--adapter <DIR>")]
    [Description("a LoRA adapter in PEFT's format (adapter_config.json + adapter_model.safetensors) merged into the model's weights at load")]
    public string? Adapter { get; init; }

    [CommandOption("--max-tokens <N>")]
    [Description("most tokens to generate per reply")]
    [DefaultValue(200)]
    public int MaxTokens { get; init; } = 200;

    [CommandOption("--temperature <T>")]
    [Description("softmax temperature; 0 = greedy (default: 1 for generate, 0.7 for chat)")]
    public double? Temperature { get; init; }

    [CommandOption("--top-k <K>")]
    [Description("sample among the K most likely tokens (0 = all)")]
    [DefaultValue(0)]
    public int TopK { get; init; }

    [CommandOption("--top-p <P>")]
    [Description("nucleus sampling: the smallest set of tokens with probability ≥ P (1 = all)")]
    [DefaultValue(1.0)]
    public double TopP { get; init; } = 1.0;

    [CommandOption("--min-p <P>")]
    [Description("drop tokens less likely than P × the most likely one (0 = none)")]
    [DefaultValue(0.0)]
    public double MinP { get; init; }

    [CommandOption("--repetition-penalty <R>")]
    [Description("divide the logits of tokens already present by R (1 = none)")]
    [DefaultValue(1.0)]
    public double RepetitionPenalty { get; init; } = 1.0;

    [CommandOption("--seed <N>")]
    [Description("seeds the sampling; the same seed repeats the text")]
    [DefaultValue(0L)]
    public long Seed { get; init; }

    /// <summary>The decoding options these settings describe, validated.</summary>
    public GenerationOptions Options(double defaultTemperature)
    {
        var o = new GenerationOptions
        {
            MaxNewTokens = MaxTokens, Temperature = Temperature ?? defaultTemperature, TopK = TopK, TopP = TopP, MinP = MinP,
            RepetitionPenalty = RepetitionPenalty, Seed = Seed,
        };
        o.Validate();
        return o;
    }
}
