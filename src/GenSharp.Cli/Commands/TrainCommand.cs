using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Distributed;
using GenSharp.Models;
using GenSharp.Training;
using Spectre.Console.Cli;

namespace GenSharp.Cli.Commands;

public sealed class TrainSettings : CliSettings
{
    [CommandArgument(0, "<FAMILY>")]
    [Description("the model family ('gensharp list' shows them; 'gensharp train FAMILY --help' its fields)")]
    public string Family { get; init; } = "";

    [CommandOption("--out <DIR>")]
    [Description("run folder: checkpoint/, metrics.jsonl, loss.png, samples/ (required)")]
    public string? Out { get; init; }

    [CommandOption("--data <PATH>")]
    [Description("image families: a Fashion-MNIST IDX folder or 'embedded' (default: the Debian package, the cache, else a download); text families: a UTF-8 text file")]
    public string? Data { get; init; }

    [CommandOption("--steps <N>")]
    [Description("optimisation steps (default 2000, or the resumed run's total)")]
    public long? Steps { get; init; }

    [CommandOption("--epochs <N>")]
    [Description("passes over the training data, instead of --steps")]
    public int? Epochs { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("images (or token windows) per step (default: the family's, see 'gensharp list')")]
    public int? BatchSize { get; init; }

    [CommandOption("--seed <N>")]
    [Description("seeds the weights, the batch order and every random draw; the same seed repeats a run (default 0, or the resumed run's)")]
    public long? Seed { get; init; }

    [CommandOption("--config <FILE>")]
    [Description("a JSON object of config fields, or a checkpoint's config.json")]
    public string? Config { get; init; }

    [CommandOption("--set <KEY=VALUE>")]
    [Description("override one config field; repeat for more")]
    public string[] Set { get; init; } = [];

    [CommandOption("--resume")]
    [Description("continue the run in --out exactly where its checkpoint stopped (--steps may be raised)")]
    public bool Resume { get; init; }

    [CommandOption("--exclude-class <K>")]
    [Description("leave class K out of the training data (anomaly detection with 'score --anomaly-class')")]
    public int? ExcludeClass { get; init; }

    [CommandOption("--limit <N>")]
    [Description("train on the first N images only")]
    public int? Limit { get; init; }

    [CommandOption("--checkpoint-every <N>")]
    [Description("write a checkpoint every N steps (0 = only at the end)")]
    [DefaultValue(1000L)]
    public long? CheckpointEvery { get; init; }

    [CommandOption("--sample-every <N>")]
    [Description("write a sample grid every N steps (0 = only at the end)")]
    [DefaultValue(1000L)]
    public long? SampleEvery { get; init; }

    [CommandOption("--ema <DECAY>")]
    [Description("keep an exponential moving average of the weights with this decay and sample from it (default: the family's; ddpm 0.999)")]
    public double? Ema { get; init; }

    [CommandOption("--distributed")]
    [Description("train data-parallel, one process per MPI rank: mpirun -np N gensharp train ... --distributed (--batch-size is the global batch; docs/distributed.md)")]
    public bool Distributed { get; init; }
}

/// <summary><c>gensharp train FAMILY</c>: sets up a run from the flags and hands it to the trainer; Ctrl-C and SIGTERM save a checkpoint.</summary>
public sealed class TrainCommand : Command<TrainSettings>
{
    public override int Execute(CommandContext context, TrainSettings s, CancellationToken cancel)
    {
        var family = FamilyRegistry.Get(s.Family);
        var outDir = CliInputs.Required(s.Out, "out", "train");
        if (s.Steps is not null && s.Epochs is not null) throw new GenSharpException("give --steps or --epochs, not both");
        GenSharpCli.Prepare(s);
        // MPI starts after the flags are checked, so a usage error needs no MPI; every rank checks the same flags.
        var comm = s.Distributed ? MpiCommunicator.Initialize() : null;
        // MPI is finalised only after a successful run: finalising waits for every rank, and after an error on this
        // rank alone the others may be waiting in a collective; exiting non-zero instead makes mpirun stop them all.
        int code = Train(s, family, outDir, comm);
        comm?.Dispose();
        return code;
    }

    static int Train(TrainSettings s, IFamily family, string outDir, MpiCommunicator? comm)
    {
        var parallel = comm is null ? null : new DataParallel(comm);
        bool writer = parallel?.IsWriter ?? true;
        var req = new TrainRequest
        {
            Family = family.Name, OutDir = outDir, Data = s.Data, Steps = s.Steps, Epochs = s.Epochs, BatchSize = s.BatchSize,
            Seed = s.Seed, ConfigFile = ReadConfigFile(s.Config), Sets = s.Set, Resume = s.Resume, Device = s.Device,
            ExcludeClass = s.ExcludeClass, Limit = s.Limit, CheckpointEvery = s.CheckpointEvery, SampleEvery = s.SampleEvery,
            EmaDecay = s.Ema, Log = writer ? line => Console.WriteLine(line) : null, Parallel = parallel,
        };
        if (writer && comm is not null) Console.WriteLine($"distributed: {comm.Size} rank{(comm.Size == 1 ? "" : "s")} (rank 0 on {comm.Host}); each takes 1/{comm.Size} of every batch");
        using var cts = new CancellationTokenSource();
        int interruptCode = 130;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return;   // a second Ctrl-C kills the process
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("interrupt: saving a checkpoint at the end of this step (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (kill, a container or job scheduler stopping the run) saves a checkpoint the same way, exit 143.
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            if (comm is not null && comm.Size > 1)
            {
                // mpirun sends SIGTERM to every rank when one fails or the job is stopped: the others cannot finish a
                // step without it, so stop now; the last checkpoint rank 0 wrote is intact (written whole or not at all).
                string saved = "no checkpoint was written yet";
                try
                {
                    if (GenSharp.Checkpoints.Checkpoint.Exists(outDir))
                        saved = $"the last checkpoint, {Path.Combine(outDir, GenSharp.Checkpoints.CheckpointFolder.RunSubfolder)} (step {GenSharp.Checkpoints.Checkpoint.Open(outDir).Step}), is intact; add --resume to continue";
                }
                catch (Exception) { saved = $"the checkpoint folder {outDir} could not be read"; }
                Console.Error.WriteLine($"gensharp: rank {comm.Rank} of {comm.Size} stopped by SIGTERM (mpirun stops every rank when one fails or the job is stopped); {saved}");
                Console.Error.Flush();
                Environment.Exit(143);
            }
            if (cts.IsCancellationRequested) return;   // a second SIGTERM terminates
            ctx.Cancel = true;
            interruptCode = 143;
            cts.Cancel();
            Console.Error.WriteLine("SIGTERM: saving a checkpoint at the end of this step");
        });
        try
        {
            var r = TrainingRun.Run(req, writer ? ConsoleProgress.Create() : TrainingProgress.Silent, cts.Token);
            if (!writer) return r.Interrupted ? interruptCode : 0;
            if (parallel is not null) Console.WriteLine(DistributedSummary(parallel, r));
            if (r.Interrupted)
            {
                Console.WriteLine($"interrupted at step {r.Step}/{r.TotalSteps}; checkpoint saved to {r.CheckpointPath}; continue with the same command plus --resume");
                return interruptCode;
            }
            var metrics = string.Join(", ", r.LastMetrics.Select(kv => $"{kv.Key} {kv.Value.ToString("G5", CultureInfo.InvariantCulture)}"));
            bool text = family is ITextFamily;
            string unit = family switch
            {
                ITextFamily or IMusicFamily => "sequences", IAudioFamily => "crops", ISpeechFamily => "utterances", IVideoFamily => "clips", _ => "images",
            };
            Console.WriteLine($"done: {r.Step} steps in {r.Seconds:F1}s ({r.ImagesPerSecond:F0} {unit}/s); {metrics}");
            Console.WriteLine($"checkpoint: {r.CheckpointPath}");
            var files = new List<string>();
            var samples = Path.Combine(outDir, "samples");
            if (Directory.Exists(samples)) files.Add($"samples:    {samples}");
            foreach (var picture in new[] { "loss.png", "metrics.png", "reconstructions.png", "interpolation.png" })
                if (File.Exists(Path.Combine(outDir, picture))) files.Add($"{Path.GetFileNameWithoutExtension(picture)}: {Path.Combine(outDir, picture)}");
            files.Add($"metrics:    {Path.Combine(outDir, "metrics.jsonl")}");
            Console.WriteLine(string.Join("   ", files));
            if (family is IEncoderFamily) Console.WriteLine($"eval:       gensharp eval {outDir} --data {req.Data}");
            else if (text) Console.WriteLine($"text:       gensharp generate {outDir} --prompt TEXT");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    /// <summary>Rank 0's share of time in gradient averaging and the all-reduce's measured bandwidth.</summary>
    internal static string DistributedSummary(DataParallel p, TrainResult r)
    {
        long steps = Math.Max(1, r.Losses.Count);
        double share = 100 * p.GradientSyncSeconds / Math.Max(1e-9, r.Seconds);
        double mbPerStep = p.BytesReduced / 1e6 / steps;
        double gbps = p.BytesReduced / 1e9 / Math.Max(1e-9, p.GradientAllreduceSeconds);
        return string.Create(CultureInfo.InvariantCulture,
            $"distributed: {p.Size} ranks; step {1000 * r.Seconds / steps:F2} ms; gradient sync {1000 * p.GradientSyncSeconds / steps:F2} ms/step ({share:F1}% of training time), " +
            $"all-reduce {1000 * p.GradientAllreduceSeconds / steps:F2} ms/step, {mbPerStep:F2} MB/step in {p.Reductions / (double)steps:F1} calls, {gbps:F2} GB/s");
    }

    static JsonObject? ReadConfigFile(string? path)
    {
        if (path is null) return null;
        if (!File.Exists(path)) throw new GenSharpException($"--config {path}: file not found");
        try { return JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("not an object"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new GenSharpException($"--config {path}: not a JSON object ({e.Message.Split('\n')[0]})"); }
    }
}
