using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GenSharp.Checkpoints;
using GenSharp.Sampling;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class GenerateSettings : TextSettings
{
    [CommandOption("--prompt <TEXT>")]
    [Description("text to continue; repeat for a batch (default: the beginning-of-sequence token when the tokenizer adds one)")]
    public string[] Prompt { get; init; } = [];

    [CommandOption("--stop <TEXT>")]
    [Description("stop a sequence when it generates this text (escapes like \\n allowed); repeat for more")]
    public string[] Stop { get; init; } = [];

    [CommandOption("--no-cache")]
    [Description("recompute the whole window every token instead of keeping a KV cache")]
    public bool NoCache { get; init; }

    [CommandOption("--ignore-eos")]
    [Description("keep generating past the end-of-sequence token")]
    public bool IgnoreEos { get; init; }

    [CommandOption("--prompt-lookup <N>")]
    [Description("greedy decoding checks up to N draft tokens copied from earlier in the text in one pass (same output, fewer passes; one prompt, temperature 0)")]
    [DefaultValue(0)]
    public int PromptLookup { get; init; }
}

/// <summary><c>gensharp generate CKPT --prompt TEXT</c>: text, streamed as it is decoded; last line JSON.</summary>
public sealed class GenerateCommand : Command<GenerateSettings>
{
    public override int Execute(CommandContext context, GenerateSettings s, CancellationToken cancel)
    {
        using var m = CliInputs.LoadText(s.Checkpoint, s, s.Adapter);
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        IReadOnlyList<string> prompts = s.Prompt;
        if (prompts.Count == 0 && tokenizer.AddBosToken) prompts = new[] { "" };    // the start-of-sequence token is prompt enough
        if (prompts.Count == 0) throw new UsageException("'generate' needs --prompt TEXT; see 'gensharp generate --help'");
        var options = s.Options(1.0) with
        {
            StopSequences = s.Stop.Select(Regex.Unescape).ToArray(), UseCache = !s.NoCache, IgnoreEos = s.IgnoreEos,
            PromptLookup = s.PromptLookup,
        };
        options.Validate();
        if (s.PromptLookup > 0 && !options.UsesPromptLookup(prompts.Count))
            throw new UsageException("--prompt-lookup needs one prompt, --temperature 0, the KV cache and no repetition penalty");
        var generator = new TextGenerator(lm, tokenizer);
        var results = new GenerationResult[prompts.Count];
        var clock = Stopwatch.StartNew();
        double? firstMs = null;
        if (prompts.Count == 1) Console.Write(prompts[0]);
        foreach (var piece in generator.Run(prompts, options, results))
        {
            firstMs ??= clock.Elapsed.TotalMilliseconds;
            if (prompts.Count == 1) { Console.Write(piece.Text); Console.Out.Flush(); }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (prompts.Count == 1) Console.WriteLine();
        else
            for (int i = 0; i < prompts.Count; i++)
                Console.WriteLine($"--- {i + 1}/{prompts.Count} ---\n{prompts[i]}{results[i].Text}");
        long generated = results.Sum(r => (long)r.GeneratedTokens);
        Console.WriteLine(new JsonObject
        {
            ["family"] = m.Name, ["checkpoint"] = m.Path, ["step"] = m.Step,
            ["sequences"] = prompts.Count, ["generated_tokens"] = generated,
            ["finish_reasons"] = new JsonArray(results.Select(r => (JsonNode)JsonValue.Create(r.FinishReason)!).ToArray()),
            ["seconds"] = Math.Round(seconds, 3),
            ["tokens_per_s"] = Math.Round(generated / Math.Max(1e-9, seconds), 1),
            ["time_to_first_piece_ms"] = firstMs is { } f ? Math.Round(f, 1) : null,
            ["kv_cache"] = options.UseCache,
            ["prompt_lookup"] = options.PromptLookup > 0 ? new JsonObject
            {
                ["checks"] = generator.Stats.Checks, ["proposed"] = generator.Stats.Proposed, ["accepted"] = generator.Stats.Accepted,
                ["acceptance_rate"] = Math.Round(generator.Stats.AcceptanceRate, 3),
            } : null,
        }.ToJsonString());
        return 0;
    }
}
