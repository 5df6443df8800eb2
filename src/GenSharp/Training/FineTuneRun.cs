using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models.Gpt;
using GenSharp.Models.Lora;
using GenSharp.Runtime;
using GenSharp.Text.Chat;

namespace GenSharp.Training;

/// <summary>
/// A LoRA fine-tune from a <see cref="FineTuneRequest"/>: loads the base (frozen), puts adapters on the target
/// projections, tokenizes the data (plain text: random windows, every token predicted; chat JSONL: whole conversations,
/// loss on the assistant replies only; the last 10% held out either way), trains with the one <see cref="Trainer"/>,
/// and writes the adapter in PEFT's format to the run folder (and the merged model when asked). The trainer's
/// checkpoint holds only the adapters, their optimizer state and the RNG, so resume continues exactly.
/// </summary>
public static class FineTuneRun
{
    /// <summary>The family name the run's checkpoint manifest carries.</summary>
    public const string ManifestFamily = "lora";
    /// <summary>Held-out examples (or windows) at most, so the held-out loss stays quick.</summary>
    const int MaxHeldOut = 64;

    public static FineTuneResult Run(FineTuneRequest req, TrainingProgress progress, CancellationToken cancel = default)
    {
        var device = TorchRuntime.ParseDevice(req.Device);
        TorchRuntime.SetThreads(req.Threads);
        if (req.Resume)
        {
            // A resumed run continues the saved one: its base, data, adapter shape, rate and context.
            if (!Checkpoint.Exists(req.OutDir)) throw new ParameterException("resume", $"finds no checkpoint in {req.OutDir}; start a new run without it");
            var saved = Checkpoint.OpenFolder(req.OutDir).Manifest;
            if (saved["family"]?.GetValue<string>() != ManifestFamily) throw new ParameterException("resume", $"{req.OutDir} holds no LoRA fine-tune");
            var s = saved["finetune"]!;
            var model = s["model"]!.GetValue<string>();
            if (Path.GetFullPath(req.Model) != model) throw new ParameterException("model", $"must be {model} to resume {req.OutDir}, the base it was trained on");
            req = req with
            {
                Data = s["data"]!.GetValue<string>(), Rank = s["r"]!.GetValue<int>(), Alpha = s["lora_alpha"]!.GetValue<double>(),
                Dropout = s["lora_dropout"]!.GetValue<double>(), Targets = s["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray(),
                LearningRate = s["lr"]!.GetValue<double>(), Context = s["context"]!.GetValue<int>(), Template = s["template"]?.GetValue<string>(),
                LrDecaySteps = s["lr_decay_steps"]!.GetValue<long>(),
            };
        }
        var data = req.Data ?? throw new ParameterException("data", "FILE.txt or CHAT.jsonl is needed");
        if (!File.Exists(data)) throw new ParameterException("data", $"{data}: file not found");

        using var loaded = Checkpoint.LoadTextModel(req.Model, device);
        if (loaded.Adapter is not null)
            throw new ParameterException("model", $"{req.Model} is a LoRA adapter; fine-tune its base, or merge it first ('gensharp merge-adapter {req.Model} --out DIR') and fine-tune the merged model");
        var network = loaded.Network as DecoderNetwork ?? throw new GenSharpException($"{req.Model} is not a decoder language model; LoRA fine-tuning needs gpt, gpt2 or a llama-family model");
        bool hfGpt2 = loaded.Pretrained && loaded.Name == "gpt2";
        var targets = req.Targets ?? DefaultTargets(network);
        var lora = new LoraConfig(req.Rank, req.Alpha, req.Dropout, targets);
        lora.Validate();
        int context = req.Context ?? Math.Min(loaded.Model.ContextLength, 512);
        if (context < 2 || context > loaded.Model.ContextLength)
            throw new ParameterException("context", $"must be in [2, {loaded.Model.ContextLength}] (the model's context), got {context}");

        long baseParameters = network.parameters().Sum(p => p.numel());
        TorchRuntime.Seed(req.Seed);                                                        // A is drawn from this seed
        LoraAdapters.Apply(network, lora);
        long trainable = LoraAdapters.Parameters(network).Sum(p => p.numel());
        req.Log?.Invoke($"model: {loaded.Path} ({loaded.Name}, {baseParameters:N0} parameters, frozen); adapters r={lora.Rank} α={lora.Alpha:G4} on {string.Join(",", targets)}: {trainable:N0} trainable parameters ({100.0 * trainable / baseParameters:G3}%)");

        // Data: chat JSONL (whole conversations, loss on replies) or plain text (windows, loss on every token).
        IBatchSource batches;
        IReadOnlyList<(int[] Ids, int[] Labels)> heldOut;
        string? template = null;
        if (data.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            var selection = ChatTemplates.Select(req.Template, loaded.Path);
            template = selection.Template.Name;
            var conversations = ChatExamples.Read(data);
            var examples = conversations.Select(c => ChatExamples.Tokenize(c, selection.Template, loaded.Tokenizer))
                .Where(e => e.Labels.Take(context + 1).Skip(1).Any(l => l != ChatExamples.Ignore)).ToList();
            if (examples.Count < conversations.Count)
                req.Log?.Invoke($"note: {conversations.Count - examples.Count} conversations have no reply within the first {context} tokens and are left out");
            if (examples.Count < 2) throw new ParameterException("data", $"{data} has {examples.Count} usable conversations; give at least 2 (the last 10% are held out)");
            int held = Math.Clamp((int)Math.Round(examples.Count * TextCorpus.ValidationFraction), 1, MaxHeldOut);
            heldOut = examples.Skip(examples.Count - held).ToList();
            var train = examples.Take(examples.Count - held).ToList();
            batches = new ExampleBatches(train, req.BatchSize, context, req.Seed);
            req.Log?.Invoke($"data: {data} ({train.Count} conversations to train on, {held} held out; template {template}; loss on assistant tokens only)");
        }
        else
        {
            var text = TextCorpus.ReadText(data);
            var corpus = TextCorpus.FromText(data, text, loaded.Tokenizer);
            if (corpus.ValidationTokens.Count < context + 1)
                throw new ParameterException("data", $"{data}: its last 10% ({corpus.ValidationTokens.Count} tokens) is shorter than one window of {context} + 1 tokens; use a longer text or a smaller --context");
            batches = new TextBatches(corpus.TrainTokens, req.BatchSize, context, req.Seed);
            heldOut = Windows(corpus.ValidationTokens, context).Take(MaxHeldOut).ToList();
            req.Log?.Invoke($"data: {data} ({corpus.TrainTokens.Count:N0} tokens to train on, {corpus.ValidationTokens.Count:N0} held out)");
        }

        double Held() => LoraTrainable.HeldOutLoss(network, ExampleBatches.Sequential(heldOut, req.BatchSize, context));
        bool writer = req.Parallel?.IsWriter ?? true;   // in a data-parallel run, rank 0 alone measures and writes
        double before = double.NaN;
        if (!req.Resume && writer)
        {
            before = Held();
            req.Log?.Invoke($"held-out loss before: {before:F4}");
        }

        long decaySteps = req.LrDecaySteps ?? req.Steps;
        var manifest = new JsonObject
        {
            ["family"] = ManifestFamily,
            ["gensharp_version"] = TorchRuntime.GenSharpVersion,
            ["finetune"] = new JsonObject
            {
                ["model"] = Path.GetFullPath(req.Model), ["data"] = Path.GetFullPath(data), ["r"] = lora.Rank, ["lora_alpha"] = lora.Alpha,
                ["lora_dropout"] = lora.Dropout, ["target_modules"] = new JsonArray(targets.Select(t => (JsonNode?)t).ToArray()),
                ["lr"] = req.LearningRate, ["lr_decay_steps"] = decaySteps, ["context"] = context, ["template"] = template,
            },
        };
        var options = new TrainOptions
        {
            Steps = req.Steps, BatchSize = req.BatchSize, Seed = req.Seed, CheckpointEvery = req.CheckpointEvery, SampleEvery = 0,
            ValidateEvery = req.ValidateEvery, LogEvery = Math.Clamp(req.Steps / 20, 1, 50),
        };
        var trainer = new Trainer(new LoraTrainable(network, req.LearningRate, decaySteps), batches, options, req.OutDir, manifest, device, progress,
            () => new Dictionary<string, double> { ["val_loss"] = Held() }, parallel: req.Parallel);
        var result = trainer.Run(req.Resume, cancel);

        // Every rank ends with the same adapters (the updates were averaged); rank 0 alone writes them.
        if (writer) PeftAdapter.Save(req.OutDir, network, lora, Path.GetFullPath(loaded.Path), PeftAdapter.ModulePrefix(hfGpt2), fanInFanOut: hfGpt2);
        double after = result.LastMetrics.TryGetValue("val_loss", out var v) ? v : writer ? Held() : double.NaN;
        string? merged = null;
        if (req.Merge && !result.Interrupted && writer)
        {
            merged = Path.Combine(req.OutDir, "merged");
            LoraAdapters.Merge(network);
            MergedModelFolder.Save(loaded, network, merged);
        }
        return new FineTuneResult(result, trainable, baseParameters, before, after, req.OutDir, merged);
    }

    /// <summary>The query and value projections (Hu et al.'s choice): q_proj,v_proj, or c_attn where they are one matrix (gpt).</summary>
    public static IReadOnlyList<string> DefaultTargets(DecoderNetwork network)
    {
        var names = LoraAdapters.LocalNames(network);
        return names.Contains("q_proj") ? new[] { "q_proj", "v_proj" } : new[] { "c_attn" };
    }

    /// <summary>Disjoint windows of context + 1 tokens as examples with every token a target.</summary>
    static IEnumerable<(int[], int[])> Windows(IReadOnlyList<int> tokens, int context)
    {
        for (int start = 0; start + context + 1 <= tokens.Count; start += context)
        {
            var w = new int[context + 1];
            for (int i = 0; i < w.Length; i++) w[i] = tokens[start + i];
            yield return (w, w);
        }
    }
}
