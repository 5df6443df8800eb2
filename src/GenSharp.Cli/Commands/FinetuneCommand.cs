using System.ComponentModel;
using System.Globalization;
using GenSharp.Distributed;
using GenSharp.Training;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class FinetuneSettings : CliSettings
{
    [CommandArgument(0, "<MODEL>")]
    [Description("the base: a gpt run folder or a Hugging Face model folder (gpt2, llama, qwen2, mistral); its weights stay frozen")]
    public string Model { get; init; } = "";

    [CommandOption("--data <FILE>")]
    [Description("a UTF-8 text file (loss on every token) or a .jsonl of {\"messages\":[[{\"role\":…,\"content\":…}]]} conversations (loss on the assistant replies only); the last 10% held out")]
    public string? Data { get; init; }

    [CommandOption("--out <DIR>")]
    [Description("run folder: the adapter in PEFT's format (adapter_config.json, adapter_model.safetensors), checkpoint/, metrics.jsonl (required)")]
    public string? Out { get; init; }

    [CommandOption("--lora-r <R>")]
    [Description("rank of the adapters")]
    [DefaultValue(8)]
    public int LoraR { get; init; } = 8;

    [CommandOption("--lora-alpha <ALPHA>")]
    [Description("scale: the update is (alpha/r)·B·A")]
    [DefaultValue(16.0)]
    public double LoraAlpha { get; init; } = 16;

    [CommandOption("--lora-dropout <P>")]
    [Description("dropout on the adapters' input while training")]
    [DefaultValue(0.05)]
    public double LoraDropout { get; init; } = 0.05;

    [CommandOption("--target <NAMES>")]
    [Description("comma-separated projection names to adapt (default q_proj,v_proj; c_attn for gpt)")]
    public string? Target { get; init; }

    [CommandOption("--steps <N>")]
    [Description("optimisation steps")]
    [DefaultValue(200L)]
    public long Steps { get; init; } = 200;

    [CommandOption("--lr <RATE>")]
    [Description("peak learning rate (AdamW over the adapters; warm-up, then cosine decay to a tenth)")]
    [DefaultValue(2e-4)]
    public double Lr { get; init; } = 2e-4;

    [CommandOption("--batch-size <N>")]
    [Description("conversations (or text windows) per step")]
    [DefaultValue(4)]
    public int BatchSize { get; init; } = 4;

    [CommandOption("--context <N>")]
    [Description("most tokens per training sequence (default: the model's context, at most 512)")]
    public int? Context { get; init; }

    [CommandOption("--template <NAME>")]
    [Description("chat template for .jsonl data: chatml, llama3 or plain (default: the model folder's)")]
    public string? Template { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds the adapters' initial A, the batch order and dropout; the same seed repeats a run")]
    [DefaultValue(0L)]
    public long Seed { get; init; }

    [CommandOption("--resume")]
    [Description("continue the run in --out exactly where its checkpoint stopped (--steps may be raised)")]
    public bool Resume { get; init; }

    [CommandOption("--merge")]
    [Description("also write the base with the adapter merged into its weights to DIR/merged (loads like any model)")]
    public bool Merge { get; init; }

    [CommandOption("--checkpoint-every <N>")]
    [Description("write a checkpoint every N steps (0 = only at the end)")]
    [DefaultValue(500L)]
    public long CheckpointEvery { get; init; } = 500;

    [CommandOption("--distributed")]
    [Description("fine-tune data-parallel, one process per MPI rank: mpirun -np N gensharp finetune ... --distributed (--batch-size is the global batch; docs/distributed.md)")]
    public bool Distributed { get; init; }

    [CommandOption("--validate-every <N>")]
    [Description("held-out loss every N steps (0 = before and after training only)")]
    [DefaultValue(0L)]
    public long ValidateEvery { get; init; }
}

/// <summary><c>gensharp finetune MODEL --data FILE --out DIR</c>: LoRA adapters trained over a frozen base; Ctrl-C saves a checkpoint.</summary>
public sealed class FinetuneCommand : Command<FinetuneSettings>
{
    public override int Execute(CommandContext context, FinetuneSettings s, CancellationToken cancel)
    {
        var outDir = CliInputs.Required(s.Out, "out", "finetune");
        if (!s.Resume) CliInputs.Required(s.Data, "data", "finetune");
        GenSharpCli.Prepare(s);
        if (s.Steps < 1) throw new GenSharpException($"--steps must be ≥ 1, got {s.Steps}");
        if (!(s.Lr > 0) || !double.IsFinite(s.Lr)) throw new GenSharpException($"--lr must be finite and > 0, got {s.Lr}");
        // MPI starts after the flags are checked (a usage error needs no MPI) and is finalised only after a successful
        // run, as in 'train': after an error on one rank the others may wait in a collective, and a non-zero exit makes
        // mpirun stop them all.
        var comm = s.Distributed ? MpiCommunicator.Initialize() : null;
        int code = Finetune(s, outDir, comm);
        comm?.Dispose();
        return code;
    }

    static int Finetune(FinetuneSettings s, string outDir, MpiCommunicator? comm)
    {
        var parallel = comm is null ? null : new DataParallel(comm);
        bool writer = parallel?.IsWriter ?? true;
        var req = new FineTuneRequest
        {
            Model = s.Model, OutDir = outDir, Data = s.Data, Rank = s.LoraR, Alpha = s.LoraAlpha, Dropout = s.LoraDropout,
            Targets = s.Target?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Steps = s.Steps, LearningRate = s.Lr, BatchSize = s.BatchSize, Seed = s.Seed, Context = s.Context, Template = s.Template,
            Resume = s.Resume, Merge = s.Merge, CheckpointEvery = s.CheckpointEvery, ValidateEvery = s.ValidateEvery, Device = s.Device,
            Log = writer ? line => Console.WriteLine(line) : null, Parallel = parallel,
        };
        if (writer && comm is not null) Console.WriteLine($"distributed: {comm.Size} rank{(comm.Size == 1 ? "" : "s")} (rank 0 on {comm.Host}); each takes 1/{comm.Size} of every batch");
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("interrupt: saving a checkpoint at the end of this step (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            var r = FineTuneRun.Run(req, writer ? ConsoleProgress.Create() : TrainingProgress.Silent, cts.Token);
            var t = r.Train;
            if (!writer) return t.Interrupted ? 130 : 0;
            if (parallel is not null) Console.WriteLine(TrainCommand.DistributedSummary(parallel, t));
            if (t.Interrupted)
            {
                Console.WriteLine($"interrupted at step {t.Step}/{t.TotalSteps}; checkpoint saved to {t.CheckpointPath}; continue with the same command plus --resume");
                return 130;
            }
            var ci = CultureInfo.InvariantCulture;
            Console.WriteLine($"done: {t.Step} steps in {t.Seconds:F1}s; held-out loss {(double.IsNaN(r.HeldOutLossBefore) ? "" : r.HeldOutLossBefore.ToString("F4", ci) + " → ")}{r.HeldOutLossAfter.ToString("F4", ci)}; " +
                              $"{r.TrainableParameters:N0} trainable parameters over a frozen base of {r.BaseParameters:N0}");
            Console.WriteLine($"adapter:    {r.AdapterDir} (PEFT format)   metrics: {Path.Combine(outDir, "metrics.jsonl")}");
            if (r.MergedDir is not null) Console.WriteLine($"merged:     {r.MergedDir}");
            Console.WriteLine($"text:       gensharp generate {s.Model} --adapter {r.AdapterDir} --prompt TEXT");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
