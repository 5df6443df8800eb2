using System.Runtime.InteropServices;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Evaluation;
using GenSharp.Models;
using GenSharp.Models.Classifier;
using GenSharp.Runtime;
using GenSharp.Training;
using GenSharp.Workflows;
using TorchSharp;

namespace GenSharp.Cli;

/// <summary>The <c>gensharp</c> command: parses arguments and calls the library. Exit codes: 0 ok, 1 user error, 2 usage error, 3 training diverged, 130 interrupted.</summary>
public static class CliApp
{
    sealed record Command(string Name, string Usage, string Summary, string[] Valued, string[] Flags, Func<Args, int> Run);

    static readonly string[] Common = { "device", "threads" };

    static readonly Command[] Commands =
    {
        new("info", "gensharp info", "versions, devices, threads, CUDA availability", Array.Empty<string>(), Array.Empty<string>(), Info),
        new("list", "gensharp list", "model families and their config fields with defaults", Array.Empty<string>(), Array.Empty<string>(), ListFamilies),
        new("train",
            "gensharp train FAMILY --out DIR [--data PATH|embedded] [--steps N | --epochs N] [--batch-size N] [--seed N]\n" +
            "               [--config FILE.json] [--set key=value ...] [--resume] [--device cpu|cuda] [--threads N]\n" +
            "               [--exclude-class K] [--limit N] [--checkpoint-every N] [--sample-every N] [--ema DECAY]",
            "train a model; writes DIR/checkpoint, DIR/metrics.jsonl, DIR/loss.png, DIR/samples/",
            new[] { "out", "data", "steps", "epochs", "batch-size", "seed", "config", "set", "exclude-class", "limit", "checkpoint-every", "sample-every", "ema" },
            new[] { "resume" }, Train),
        new("sample", "gensharp sample CKPT --out FILE.png|FILE.npy [--n 64] [--seed N] [--class K] [--device cpu|cuda]\n" +
            "               [--temperature T | T1,T2,...]                     flows: sample at temperature(s), one row each\n" +
            "               [--complete FILE.png|FILE.npy|test[:N] [--rows R | --known-pixels P] [--data PATH|embedded]]\n" +
            "                                                                 autoregressive: keep the first R rows (P pixels) and sample the rest, --n per image\n" +
            "               [--scheduler ddpm|ddim] [--steps N] [--eta E] [--guidance-scale W]   diffusion: sampler (default ddim, 50 steps, η 0, W 1)\n" +
            "               [--strip FILE.png] [--gif FILE.gif]                diffusion: denoising strip x_T … x_0 / animation of the reverse process\n" +
            "               [--inpaint FILE.png|FILE.npy|test[:N] --mask FILE.png|top|bottom|left|right|center|random]   diffusion: keep the known pixels (mask white = known), --n per image\n" +
            "               [--resample R] [--jump J]                          inpainting: RePaint resampling, each J-step segment run R times (default 1: none; J 10)\n" +
            "               ebm: [--steps N] [--init noise|buffer] [--inpaint SRC --mask M]   Langevin steps (default sample_steps) from noise or the replay buffer; clamped inpainting",
            "draw samples: a PNG grid (one row per class when conditional) or an N×C×H×W uint8 .npy; temperature sweeps; image completion",
            new[] { "out", "n", "seed", "class", "temperature", "complete", "rows", "known-pixels", "data",
                    "scheduler", "steps", "eta", "guidance-scale", "strip", "gif", "inpaint", "mask", "resample", "jump", "init" }, Array.Empty<string>(), Sample),
        new("interpolate", "gensharp interpolate CKPT --data PATH|embedded --out FILE.png [--pairs 4] [--steps 10]",
            "latent interpolation between pairs of test images of different classes (models with an encoder: vae, realnvp, glow)",
            new[] { "data", "out", "pairs", "steps" }, Array.Empty<string>(), Interpolate),
        new("eval", "gensharp eval CKPT [--data PATH|embedded] [--limit N] [--k 100] [--seed N] [--device cpu|cuda]\n" +
            "               [--classifier CLS_CKPT [--n 1000] [--batch-size 250] [--samples FILE.npy] [--no-memorisation] [--quality-only]]\n" +
            "               [--scheduler ddpm|ddim] [--steps N] [--eta E] [--guidance-scale W]   diffusion: the sampler the quality metrics use\n" +
            "               [--steps N] [--init noise|buffer]   ebm: Langevin steps (also for --inpaint-mask) and chain start of the quality metrics' samples\n" +
            "               [--inpaint-mask top|bottom|left|right|center|random|FILE.png [--resample R] [--jump J]]   ddpm/ebm: inpaint N test images, score vs the originals\n" +
            "               [--ais-chains 100] [--ais-betas 14500] [--ais-runs 3]   rbm, dbn: annealed importance sampling of log Z (dbn: --k up-pass samples for the bound)\n" +
            "       gensharp eval --samples FILE.npy --classifier CLS_CKPT [--n N] [--data PATH|embedded]\n" +
            "       gensharp eval CKPT|HF_FOLDER --data FILE.txt [--batch-size 32] [--context N]   text (gpt, or a Hugging Face gpt2/llama/qwen2/mistral folder):\n" +
            "               loss on the held-out last 10% (nats/token), perplexity, bits/char",
            "the family's own test metrics (likelihood in nats and bits/dim; classifier: accuracy) and, with --classifier, " +
            "sample quality (FD-cls, KID, precision/recall, class shares, memorisation, images/s) of N samples vs N test images; last line is JSON",
            new[] { "data", "limit", "k", "seed", "classifier", "n", "batch-size", "context", "samples", "scheduler", "steps", "eta", "guidance-scale",
                    "inpaint-mask", "resample", "jump", "ais-chains", "ais-betas", "ais-runs", "init" },
            new[] { "no-memorisation", "quality-only" }, Eval),
        new("generate", "gensharp generate CKPT|HF_FOLDER --prompt TEXT [--prompt TEXT ...] [--max-tokens 200] [--temperature 1] [--top-k K] [--top-p P]\n" +
            "               [--min-p P] [--repetition-penalty R] [--stop S ...] [--seed N] [--no-cache] [--ignore-eos] [--device cpu|cuda]",
            "generate text with a text checkpoint (gpt) or a Hugging Face model folder (gpt2, llama, qwen2, mistral; stops at its end-of-sequence token), printed as it is decoded (KV cache; --no-cache recomputes the window); " +
            "several --prompt run as one batch; temperature 0 = greedy; last line is JSON (tokens/s, time to first token)",
            new[] { "prompt", "max-tokens", "temperature", "top-k", "top-p", "min-p", "repetition-penalty", "stop", "seed" },
            new[] { "no-cache", "ignore-eos" }, Generate),
        new("chat", "gensharp chat CKPT|HF_FOLDER [--system TEXT] [--template chatml|llama3|plain] [--max-tokens 200] [--temperature 0.7] [--top-k K]\n" +
            "               [--top-p P] [--min-p P] [--repetition-penalty R] [--seed N] [--stats] [--device cpu|cuda]",
            "talk to a text model: reads your messages from standard input (one per line), streams the replies and keeps the " +
            "conversation (oldest turns dropped when it outgrows the context); /reset forgets it, /exit or end of input quits; " +
            "template from the model folder's chat_template when recognised (ChatML, Llama-3), else a built-in; --stats prints token counts per reply",
            new[] { "system", "template", "max-tokens", "temperature", "top-k", "top-p", "min-p", "repetition-penalty", "seed" },
            new[] { "stats" }, Chat),
        new("score", "gensharp score CKPT --data PATH|embedded --out FILE.csv [--anomaly-class K] [--limit N] [--seed N]",
            "per-item anomaly score (negative log-likelihood or its bound, nats) on the test split; with --anomaly-class prints AUROC of K vs the rest",
            new[] { "data", "out", "anomaly-class", "limit", "seed" }, Array.Empty<string>(), Score),
        new("encode", "gensharp encode CKPT --data PATH|embedded --out FILE.codes [--bits 8] [--limit N]",
            "compress test images to quantised latent codes; prints bits per image and reconstruction PSNR",
            new[] { "data", "out", "bits", "limit" }, Array.Empty<string>(), Encode),
        new("decode", "gensharp decode CKPT FILE.codes --out FILE.png|FILE.npy",
            "decode latent codes back to images", new[] { "out" }, Array.Empty<string>(), Decode),
        new("denoise", "gensharp denoise CKPT --data PATH|embedded --noise gaussian:0.3|saltpepper:0.1 --out FILE.png [--limit N] [--seed N]",
            "corrupt test images, reconstruct them (autoencoders; ebm: Langevin from the noisy image); writes clean/noisy/denoised rows and prints PSNR before/after",
            new[] { "data", "noise", "out", "limit", "seed" }, Array.Empty<string>(), Denoise),
        new("quickstart", "gensharp quickstart [--out DIR] [--threads N]",
            "train a small VAE and a small DCGAN on the embedded Fashion-MNIST subset; writes sample grids and the VAE's NLL",
            new[] { "out" }, Array.Empty<string>(), Quickstart),
    };

    /// <summary>Runs the CLI; returns the process exit code.</summary>
    public static int Run(string[] argv)
    {
        if (argv.Length == 0 || argv[0] is "--help" or "-h" or "help")
        {
            PrintHelp();
            return argv.Length == 0 ? 2 : 0;
        }
        if (argv[0] is "--version") { Console.WriteLine(TorchRuntime.GenSharpVersion); return 0; }
        var cmd = Commands.FirstOrDefault(c => c.Name == argv[0]);
        if (cmd is null)
        {
            Console.Error.WriteLine($"gensharp: unknown command '{argv[0]}'; commands: {string.Join(", ", Commands.Select(c => c.Name))}");
            return 2;
        }
        if (argv.Skip(1).Any(a => a is "--help" or "-h"))
        {
            Console.WriteLine($"{cmd.Summary}\n\nusage: {cmd.Usage}");
            return 0;
        }
        try
        {
            var args = Args.Parse(cmd.Name, argv.Skip(1), new HashSet<string>(cmd.Valued.Concat(Common)), new HashSet<string>(cmd.Flags));
            TorchRuntime.EnsureReady();
            if (args.Int("threads") is { } threads)
            {
                if (threads < 1) throw new GenSharpException($"--threads must be ≥ 1, got {threads}");
                TorchRuntime.SetThreads(threads);
            }
            return cmd.Run(args);
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"gensharp {cmd.Name}: {e.Message}");
            return 3;
        }
        catch (GenSharpException e)
        {
            Console.Error.WriteLine($"gensharp {cmd.Name}: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"gensharp {cmd.Name}: {e.Message}");
            return 1;
        }
    }

    static void PrintHelp()
    {
        Console.WriteLine("gensharp — generative models for .NET (TorchSharp)\n\ncommands:");
        foreach (var c in Commands) Console.WriteLine($"  {c.Name,-11} {c.Summary}");
        Console.WriteLine("\n'gensharp COMMAND --help' shows a command's options.");
    }

    static TorchSharp.torch.Device DeviceOf(Args a) => TorchRuntime.ParseDevice(a.Get("device") ?? "cpu");

    static int Info(Args a)
    {
        Console.WriteLine($"GenSharp    {TorchRuntime.GenSharpVersion}");
        Console.WriteLine($"TorchSharp  {TorchRuntime.TorchSharpVersion}");
        Console.WriteLine($"libtorch    {TorchRuntime.LibTorchVersion}");
        Console.WriteLine($".NET        {Environment.Version}");
        Console.WriteLine($"threads     {torch.get_num_threads()} (cores: {Environment.ProcessorCount})");
        bool cuda = torch.cuda.is_available();
        Console.WriteLine($"CUDA        {(cuda ? $"available, {torch.cuda.device_count()} device(s)" : "not available")}");
        Console.WriteLine($"devices     cpu{(cuda ? string.Concat(Enumerable.Range(0, (int)torch.cuda.device_count()).Select(i => $", cuda:{i}")) : "")}");
        return 0;
    }

    static int ListFamilies(Args a)
    {
        foreach (var f in FamilyRegistry.All)
        {
            Console.WriteLine($"{f.Name} — {f.Summary} (default batch size {f.DefaultBatchSize})");
            foreach (var (k, v) in ConfigJson.ToJson(f.DefaultConfig))
                Console.WriteLine($"    {k,-24} {v?.ToJsonString() ?? "null"}");
        }
        return 0;
    }

    static int Train(Args a)
    {
        var family = a.Positional("a FAMILY (see 'gensharp list')", "train");
        JsonObject? configFile = null;
        if (a.Get("config") is { } cfgPath)
        {
            if (!File.Exists(cfgPath)) throw new GenSharpException($"--config {cfgPath}: file not found");
            try { configFile = JsonNode.Parse(File.ReadAllText(cfgPath))?.AsObject() ?? throw new JsonException("not an object"); }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            { throw new GenSharpException($"--config {cfgPath}: not a JSON object ({e.Message.Split('\n')[0]})"); }
        }
        if (a.Get("steps") is not null && a.Get("epochs") is not null)
            throw new GenSharpException("give --steps or --epochs, not both");
        var req = new TrainRequest
        {
            Family = family,
            OutDir = a.Require("out", "train"),
            Data = a.Get("data"),
            Steps = a.Long("steps"),
            Epochs = a.Int("epochs"),
            BatchSize = a.Int("batch-size"),
            Seed = a.Long("seed"),
            ConfigFile = configFile,
            Sets = a.All("set"),
            Resume = a.Has("resume"),
            Device = a.Get("device") ?? "cpu",
            ExcludeClass = a.Int("exclude-class"),
            Limit = a.Int("limit"),
            CheckpointEvery = a.Long("checkpoint-every"),
            SampleEvery = a.Long("sample-every"),
            EmaDecay = a.Double("ema"),
        };
        using var cts = new CancellationTokenSource();
        int interruptCode = 130;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl-C kills the process
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("interrupt: saving a checkpoint at the end of this step (Ctrl-C again to abort)");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (kill, a container or job scheduler stopping the run) saves a checkpoint the same way, exit 143.
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            if (cts.IsCancellationRequested) return; // a second SIGTERM terminates
            ctx.Cancel = true;
            interruptCode = 143;
            cts.Cancel();
            Console.Error.WriteLine("SIGTERM: saving a checkpoint at the end of this step");
        });
        try
        {
            var r = TrainWorkflow.Run(req, TrainingProgress.Console(), cts.Token);
            if (r.Interrupted)
            {
                Console.WriteLine($"interrupted at step {r.Step}/{r.TotalSteps}; checkpoint saved to {r.CheckpointPath}; continue with the same command plus --resume");
                return interruptCode;
            }
            var metrics = string.Join(", ", r.LastMetrics.Select(kv => $"{kv.Key} {kv.Value.ToString("G5", CultureInfo.InvariantCulture)}"));
            string unit = FamilyRegistry.Get(family) is ITextFamily ? "sequences" : "images";
            Console.WriteLine($"done: {r.Step} steps in {r.Seconds:F1}s ({r.ImagesPerSecond:F0} {unit}/s); {metrics}");
            Console.WriteLine($"checkpoint: {r.CheckpointPath}");
            if (unit == "images")
                Console.WriteLine($"samples:    {Path.Combine(req.OutDir, "samples")}   loss curve: {Path.Combine(req.OutDir, "loss.png")}   metrics: {Path.Combine(req.OutDir, "metrics.jsonl")}");
            else
                Console.WriteLine($"loss curve: {Path.Combine(req.OutDir, "loss.png")}   metrics: {Path.Combine(req.OutDir, "metrics.jsonl")}   text: gensharp generate {req.OutDir} --prompt TEXT");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    static int Sample(Args a)
    {
        using var m = ModelLoader.Load(a.Positional("a checkpoint folder", "sample"), DeviceOf(a));
        if (m.Model is ILanguageModel)
            throw new GenSharpException($"{m.Family.Name} checkpoints make text, not images: use 'gensharp generate CKPT --prompt TEXT'");
        var outPath = a.Require("out", "sample");
        long seed = a.Long("seed") ?? 0;
        if (m.Model is GenSharp.Models.IDiffusionSampler)
            return SampleDiffusion(a, m, outPath, seed);
        if (m.Model is GenSharp.Models.Energy.EbmModel)
            return SampleEnergy(a, m, outPath, seed);
        if (a.Get("init") is not null) throw new GenSharpException($"--init applies to ebm checkpoints; this is a {m.Family.Name} checkpoint");
        foreach (var flag in new[] { "scheduler", "steps", "eta", "guidance-scale", "strip", "gif", "inpaint", "mask", "resample", "jump" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} applies to diffusion checkpoints (ddpm); this is a {m.Family.Name} checkpoint");
        if (a.Get("complete") is { } source)
        {
            if (a.Get("temperature") is not null) throw new GenSharpException("give --complete or --temperature, not both");
            var cfg = ImageFamilyConfig.Of(m.Model);
            if (a.Get("rows") is not null && a.Get("known-pixels") is not null) throw new GenSharpException("give --rows or --known-pixels, not both");
            long known = a.Long("known-pixels") ?? (long)(a.Int("rows") ?? cfg.ImageSize / 2) * cfg.ImageSize;
            using var images = CompletionInputs(a, source, cfg.ImageChannels, cfg.ImageSize);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            int perImage = a.Int("n") ?? 8;
            GenerationWorkflows.Complete(m.Model, images, known, perImage, outPath, seed, a.Int("class"));
            Console.WriteLine($"wrote {outPath}: {images.shape[0]} images × {perImage} completions from the first {known} pixels " +
                $"(rows: known part, completions, original) in {sw.Elapsed.TotalSeconds:F1}s");
            return 0;
        }
        if (a.Get("temperature") is { } temps)
        {
            var list = temps.Split(',').Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
                : throw new GenSharpException($"--temperature: '{t}' is not a number")).ToList();
            GenerationWorkflows.TemperatureSweep(m.Model, list, a.Int("n") ?? (list.Count == 1 ? 64 : 10), outPath, seed);
            Console.WriteLine($"wrote {outPath}" + (list.Count > 1 ? $" (one row per temperature: {temps})" : ""));
            return 0;
        }
        if (a.Get("rows") is not null || a.Get("known-pixels") is not null) throw new GenSharpException("--rows/--known-pixels go with --complete");
        var sw2 = System.Diagnostics.Stopwatch.StartNew();
        int n = a.Int("n") ?? 64;
        ImageWorkflows.Sample(m.Model, outPath, n, seed, a.Int("class"));
        Console.WriteLine($"wrote {outPath} ({n} samples in {sw2.Elapsed.TotalSeconds:F1}s)");
        return 0;
    }

    /// <summary>--scheduler/--steps/--eta with the checkpoint's defaults (an explicit --scheduler ddpm defaults to all T steps).</summary>
    static (string Scheduler, int Steps, double Eta) SchedulerFlags(Args a, GenSharp.Models.Diffusion.DdpmConfig defaults) =>
        (a.Get("scheduler") ?? defaults.Sampler,
         a.Int("steps") ?? (a.Get("scheduler") is "ddpm" ? defaults.Timesteps : defaults.SamplerSteps),
         a.Double("eta") ?? 0);

    /// <summary>sample for diffusion checkpoints: scheduler flags, strip, GIF, inpainting.</summary>
    static int SampleDiffusion(Args a, LoadedModel m, string outPath, long seed)
    {
        foreach (var flag in new[] { "temperature", "complete", "rows", "known-pixels" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} does not apply to diffusion checkpoints");
        var defaults = (GenSharp.Models.Diffusion.DdpmConfig)m.Model.Config;
        var (scheduler, steps, eta) = SchedulerFlags(a, defaults);
        if (a.Get("inpaint") is { } source)
        {
            if (a.Get("guidance-scale") is not null || a.Get("strip") is not null || a.Get("gif") is not null)
                throw new GenSharpException("--inpaint goes without --guidance-scale/--strip/--gif");
            var mask = GenSharp.Workflows.DiffusionWorkflows.Mask(a.Require("mask", "sample --inpaint"), defaults.ImageSize, seed);
            using var images = CompletionInputs(a, source, defaults.ImageChannels, defaults.ImageSize);
            int perImage = a.Int("n") ?? 4;
            int resample = a.Int("resample") ?? 1;
            int? jump = a.Int("jump");
            double ips = GenSharp.Workflows.DiffusionWorkflows.Inpaint(m.Model, images, mask, perImage, outPath, seed, a.Int("class"), scheduler, steps, eta,
                resample, jump);
            Console.WriteLine($"wrote {outPath}: {images.shape[0]} images × {perImage} inpaintings (rows: known part, inpaintings, original); " +
                $"{scheduler} {steps} steps" + (resample > 1 ? $", RePaint resampling ×{resample} every {GenSharp.Sampling.RePaintPlan.JumpOrDefault(jump, steps)} steps" : "") +
                $", {ips:F2} images/s");
            return 0;
        }
        foreach (var flag in new[] { "mask", "resample", "jump" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} goes with --inpaint");
        int n = a.Int("n") ?? 64;
        double w = a.Double("guidance-scale") ?? defaults.SamplerGuidance;
        double perSecond = GenSharp.Workflows.DiffusionWorkflows.Sample(m.Model, outPath, n, seed, a.Int("class"), scheduler, steps, eta, w,
            a.Get("strip"), a.Get("gif"));
        Console.WriteLine($"wrote {outPath} ({n} samples, {scheduler} {steps} steps" + (defaults.Conditional ? $", guidance {w}" : "") +
            $", {perSecond:F2} images/s)" + (a.Get("strip") is { } sp ? $"; strip {sp}" : "") + (a.Get("gif") is { } gp ? $"; gif {gp}" : ""));
        return 0;
    }

    /// <summary>sample for ebm checkpoints: Langevin steps, chain start, clamped inpainting.</summary>
    static int SampleEnergy(Args a, LoadedModel m, string outPath, long seed)
    {
        foreach (var flag in new[] { "temperature", "complete", "rows", "known-pixels", "scheduler", "eta", "guidance-scale", "strip", "gif", "resample", "jump", "class" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} does not apply to ebm checkpoints");
        var cfg = (GenSharp.Models.Energy.EbmConfig)m.Model.Config;
        var (steps, init) = LangevinFlags(a, cfg);
        if (a.Get("inpaint") is { } source)
        {
            if (a.Get("init") is not null) throw new GenSharpException("--init goes without --inpaint (inpainting starts the unknown pixels from noise)");
            var mask = GenSharp.Workflows.DiffusionWorkflows.Mask(a.Require("mask", "sample --inpaint"), cfg.ImageSize, seed);
            using var images = CompletionInputs(a, source, cfg.ImageChannels, cfg.ImageSize);
            int perImage = a.Int("n") ?? 4;
            double ips = EnergyWorkflows.Inpaint(m.Model, images, mask, perImage, outPath, seed, steps);
            Console.WriteLine($"wrote {outPath}: {images.shape[0]} images × {perImage} inpaintings (rows: known part, inpaintings, original); " +
                $"Langevin {steps ?? cfg.SampleSteps} steps with the known pixels clamped, {ips:F2} images/s");
            return 0;
        }
        if (a.Get("mask") is not null) throw new GenSharpException("--mask goes with --inpaint");
        int n = a.Int("n") ?? 64;
        double perSecond = EnergyWorkflows.Sample(m.Model, outPath, n, seed, steps, init == "buffer");
        Console.WriteLine($"wrote {outPath} ({n} samples, Langevin {steps ?? cfg.SampleSteps} steps from {(init == "buffer" ? "the replay buffer" : "uniform noise")}, {perSecond:F2} images/s)");
        return 0;
    }

    /// <summary>
    /// An ebm's --steps (null = the config's sample_steps; must be ≥ 0) and --init (noise or buffer, default
    /// sample_init), for sample and eval.
    /// </summary>
    static (int? Steps, string Init) LangevinFlags(Args a, GenSharp.Models.Energy.EbmConfig cfg)
    {
        int? steps = a.Int("steps");
        if (steps is < 0) throw new GenSharpException($"--steps must be ≥ 0, got {steps}");
        string init = a.Get("init") ?? cfg.SampleInit;
        if (init is not ("noise" or "buffer")) throw new GenSharpException($"--init must be noise or buffer, got '{init}'");
        return (steps, init);
    }

    /// <summary>--complete FILE.png|FILE.npy, or test[:N] = the first N (default 8) test images of --data.</summary>
    static TorchSharp.torch.Tensor CompletionInputs(Args a, string source, int channels, int size)
    {
        if (source == "test" || source.StartsWith("test:", StringComparison.Ordinal))
        {
            int count = 8;
            if (source.Length > 5 && (!int.TryParse(source[5..], NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1))
                throw new GenSharpException($"--complete {source}: expected test:N with N ≥ 1");
            using var data = FashionMnist.Load(a.Get("data"), train: false);
            // One image per class in turn, so the grid shows variety.
            var labels = data.Labels.data<long>().ToArray();
            var picks = new List<long>();
            for (int cls = 0; picks.Count < count && cls < 1000; cls++)
            {
                int k = cls % data.NumClasses, nth = cls / data.NumClasses;
                var idx = Enumerable.Range(0, labels.Length).Where(i => labels[i] == k).Skip(nth).FirstOrDefault(-1);
                if (idx >= 0) picks.Add(idx);
            }
            using var index = torch.tensor(picks.ToArray());
            return data.Images.index_select(0, index);
        }
        return GenSharp.Media.ImageInput.Load(source, channels, size);
    }

    static int Interpolate(Args a)
    {
        using var m = ModelLoader.Load(a.Positional("a checkpoint folder", "interpolate"), DeviceOf(a));
        if (m.Model is not IAutoencoder ae) throw new GenSharpException($"{m.Family.Name} has no encoder; interpolate needs vae, realnvp or glow");
        a.Require("data", "interpolate");
        using var data = TestData(a);
        var outPath = a.Require("out", "interpolate");
        int pairs = a.Int("pairs") ?? 4, steps = a.Int("steps") ?? 10;
        if (pairs < 1 || pairs > 64) throw new GenSharpException($"--pairs must be in [1, 64], got {pairs}");
        if (steps < 2 || steps > 64) throw new GenSharpException($"--steps must be in [2, 64], got {steps}");
        ImageWorkflows.WriteInterpolation(ae, data, outPath, pairs, steps);
        Console.WriteLine($"wrote {outPath} ({pairs} pairs × {steps} steps)");
        return 0;
    }

    static ImageDataset TestData(Args a)
    {
        var data = FashionMnist.Load(a.Get("data"), train: false);
        if (a.Int("limit") is { } n)
        {
            if (n < 1) throw new GenSharpException($"--limit must be ≥ 1, got {n}");
            if (n < data.Count) { var t = data.Take(n); data.Dispose(); return t; }
        }
        return data;
    }

    static int Eval(Args a)
    {
        string? classifierPath = a.Get("classifier"), samplesPath = a.Get("samples");
        if (classifierPath is null && samplesPath is null && a.Positionals.Count == 1)
        {
            if (GenSharp.Models.Pretrained.HfModelFolder.IsHfFolder(a.Positionals[0])) return EvalText(a, a.Positionals[0]);
            var dir = GenSharp.Checkpoints.CheckpointFolder.Resolve(a.Positionals[0]);
            if (ModelLoader.ReadManifest(dir).Family is ITextFamily) return EvalText(a, dir);
        }
        if (classifierPath is null)
            foreach (var opt in new[] { "samples", "n", "batch-size" })
                if (a.Get(opt) is not null) throw new GenSharpException($"--{opt} belongs to the sample-quality metrics; add --classifier CLS_CKPT");
        // `eval --samples FILE.npy --classifier CLS` scores pre-generated samples without a checkpoint.
        string? ckpt = samplesPath is not null && a.Positionals.Count == 0 ? null : a.Positional("a checkpoint folder", "eval");
        using var m = ckpt is null ? null : ModelLoader.Load(ckpt, DeviceOf(a));
        var json = new JsonObject();
        if (a.Get("inpaint-mask") is { } maskSpec)
            return InpaintMetrics(a, m, maskSpec, classifierPath, json);
        foreach (var flag in new[] { "resample", "jump" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} goes with --inpaint-mask");
        if (m is not null)
        {
            json["family"] = m.Family.Name;
            json["checkpoint"] = m.Path;
            json["step"] = m.Step;
            if (a.Has("quality-only") && classifierPath is null) throw new GenSharpException("--quality-only needs --classifier CLS_CKPT");
            if (a.Has("quality-only"))
                Console.WriteLine("--quality-only: skipping the family's own test metrics");
            else if (m.Model is ILikelihoodModel || m.Model is ClassifierModel || classifierPath is null)
                OwnMetrics(a, m, json);
            else
                Console.WriteLine($"{m.Family.Name} gives no likelihood; reporting sample-quality metrics only");
            if (classifierPath is null && m.Model is not ClassifierModel)
                Console.WriteLine("sample-quality metrics (FD-cls, KID, precision/recall, memorisation) need --classifier CLS_CKPT (train one with 'gensharp train classifier')");
        }
        if (classifierPath is not null) SampleQualityMetrics(a, m, classifierPath, samplesPath, json);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>eval of a text checkpoint: validation loss and perplexity on the held-out last 10% of --data.</summary>
    static int EvalText(Args a, string dir)
    {
        foreach (var flag in new[] { "limit", "k", "seed", "n", "scheduler", "steps", "eta", "guidance-scale" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} does not apply to text checkpoints");
        using var m = TextWorkflows.Load(dir, DeviceOf(a));
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        var data = a.Require("data", "eval");
        // Pretrained contexts run to 32k+ tokens: score 1024-token windows unless --context says otherwise.
        int context = a.Int("context") ?? (m.Pretrained ? Math.Min(lm.ContextLength, 1024) : lm.ContextLength);
        var r = TextWorkflows.Evaluate(lm, tokenizer, data, a.Int("batch-size") ?? (m.Pretrained ? 8 : 32), context);
        Console.WriteLine($"validation: the last 10% of {data} ({r["val_tokens"]} predicted tokens, {tokenizer.Kind.ToString().ToLowerInvariant()} tokenizer, " +
            $"context {context}, disjoint windows); loss in nats/token, perplexity = e^loss, bits/char = total bits / characters");
        Console.WriteLine($"val loss {r["val_loss"]:F4} nats/token · perplexity {r["val_perplexity"]:F3} · {r["val_bits_per_char"]:F4} bits/char · {r["tokens_per_s"]:F0} tokens/s");
        var json = new JsonObject { ["family"] = m.Name, ["checkpoint"] = m.Path, ["step"] = m.Step, ["data"] = data, ["context"] = context };
        foreach (var (k, v) in r) json[k] = double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    static int Generate(Args a)
    {
        using var m = TextWorkflows.Load(a.Positional("a checkpoint folder or Hugging Face model folder", "generate"), DeviceOf(a));
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        var prompts = a.All("prompt");
        if (prompts.Count == 0 && tokenizer.AddBosToken) prompts = new[] { "" };    // the start-of-sequence token is prompt enough
        if (prompts.Count == 0) throw new GenSharpException("'generate' needs --prompt TEXT; see 'gensharp generate --help'");
        var options = new GenSharp.Sampling.GenerationOptions
        {
            MaxNewTokens = a.Int("max-tokens") ?? 200,
            Temperature = a.Double("temperature") ?? 1.0,
            TopK = a.Int("top-k") ?? 0,
            TopP = a.Double("top-p") ?? 1.0,
            MinP = a.Double("min-p") ?? 0.0,
            RepetitionPenalty = a.Double("repetition-penalty") ?? 1.0,
            StopSequences = a.All("stop").Select(s => System.Text.RegularExpressions.Regex.Unescape(s)).ToArray(),
            Seed = a.Long("seed") ?? 0,
            UseCache = !a.Has("no-cache"),
            IgnoreEos = a.Has("ignore-eos"),
        };
        options.Validate();
        var generator = new GenSharp.Sampling.TextGenerator(lm, tokenizer);
        var results = new GenSharp.Sampling.GenerationResult[prompts.Count];
        var clock = System.Diagnostics.Stopwatch.StartNew();
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
        }.ToJsonString());
        return 0;
    }

    static int Chat(Args a)
    {
        using var m = TextWorkflows.Load(a.Positional("a checkpoint folder or Hugging Face model folder", "chat"), DeviceOf(a));
        var (lm, tokenizer) = (m.Model, m.Tokenizer);
        var selection = GenSharp.Text.Chat.ChatTemplates.Select(a.Get("template"), m.Path);
        if (selection.Notice is not null) Console.Error.WriteLine($"gensharp chat: {selection.Notice}");
        else Console.Error.WriteLine($"gensharp chat: template {selection.Template.Name} (from {selection.Source})");
        var options = new GenSharp.Sampling.GenerationOptions
        {
            MaxNewTokens = a.Int("max-tokens") ?? 200,
            Temperature = a.Double("temperature") ?? 0.7,
            TopK = a.Int("top-k") ?? 0,
            TopP = a.Double("top-p") ?? 1.0,
            MinP = a.Double("min-p") ?? 0.0,
            RepetitionPenalty = a.Double("repetition-penalty") ?? 1.0,
        };
        options.Validate();
        long seed = a.Long("seed") ?? 0;
        var session = new GenSharp.Text.Chat.ChatSession(lm, tokenizer, selection.Template, a.Get("system"));
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
                    foreach (var piece in session.Reply(text, options with { Seed = seed + n },
                                 notice => Console.Error.WriteLine($"gensharp chat: {notice}"), turn.Token))
                    {
                        Console.Write(piece);
                        Console.Out.Flush();
                    }
                    Console.WriteLine();
                    if (a.Has("stats") && session.LastReply is { } r)
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

    /// <summary>The family's own test-set metrics: likelihood (nats, bits/dim) or a classifier's accuracy.</summary>
    static void OwnMetrics(Args a, LoadedModel m, JsonObject json)
    {
        using var data = TestData(a);
        bool energy = m.Model is GenSharp.Models.Energy.RbmModel or GenSharp.Models.Energy.DbnModel;
        foreach (var flag in new[] { "ais-chains", "ais-betas", "ais-runs" })
            if (!energy && a.Get(flag) is not null) throw new GenSharpException($"--{flag} applies to energy models (rbm, dbn); this is a {m.Family.Name} checkpoint");
        var defaults = new EvalSettings();
        var settings = new EvalSettings(a.Int("k") ?? 100, a.Long("seed") ?? 0,
            a.Int("ais-chains") ?? defaults.AisChains, a.Int("ais-betas") ?? defaults.AisBetas, a.Int("ais-runs") ?? defaults.AisRuns);
        if (settings.AisChains < 1 || settings.AisBetas < 1 || settings.AisRuns < 1)
            throw new GenSharpException($"--ais-chains, --ais-betas and --ais-runs must be ≥ 1, got {settings.AisChains}, {settings.AisBetas}, {settings.AisRuns}");
        var r = ImageWorkflows.Eval(m.Model, data, null, settings,
            (done, total) => { if (!Console.IsErrorRedirected) Console.Error.Write($"\reval {done}/{total}"); });
        if (!Console.IsErrorRedirected) Console.Error.WriteLine();
        if (m.Model is ILikelihoodModel lm) Console.WriteLine($"likelihood: {lm.LikelihoodDescription}");
        if (energy && r.TryGetValue("log_z", out var logZ))
            Console.WriteLine($"AIS: log Z {logZ:F3}" + (r.TryGetValue("log_z_std", out var sd) ? $" ± {sd:F3} (std over {r["ais_runs"]} runs)" : "") +
                $", ±3σ bounds [{(r.TryGetValue("log_z_minus_3sigma", out var lo) ? lo.ToString("F3", CultureInfo.InvariantCulture) : "−∞")}, {r["log_z_plus_3sigma"]:F3}]" +
                $" from {r["ais_runs"]} × {r["ais_chains"]} chains, {r["ais_betas"]} intermediate distributions; " +
                (r.TryGetValue("nll", out var nll) ? $"test log-likelihood {-nll:F2} nats" : $"test lower bound {-r["bound_nll"]:F2} nats") + $" on {r["items"]} images");
        if (r.TryGetValue("energy_test", out var eTest) && r.TryGetValue("energy_test_sq", out var eSq))
        {
            double sdTest = Math.Sqrt(Math.Max(0, eSq - eTest * eTest));
            r["energy_test_std"] = sdTest;
            r.Remove("energy_test_sq");
            Console.WriteLine($"energy E(x) (lower = more likely): test {eTest:G4} ± {sdTest:G3} on {r["items"]} images · " +
                $"{r["eval_samples"]} Langevin samples ({r["sample_steps"]} steps from noise) {r["energy_samples"]:G4} ± {r["energy_samples_std"]:G3} · " +
                $"replay buffer {r["energy_buffer"]:G4} ± {r["energy_buffer_std"]:G3} · uniform noise {r["energy_noise"]:G4} ± {r["energy_noise_std"]:G3}");
        }
        if (m.Model is ClassifierModel)
            Console.WriteLine($"classifier: test accuracy {r["accuracy"] * 100:F2}% (top-1), loss = mean cross-entropy {r["loss"]:F4} nats, on {r["items"]} images of {data.Source}");
        json["data"] = data.Source;
        foreach (var (k, v) in r) json[k] = Math.Round(v, 5);
    }

    /// <summary>
    /// The sampler eval scores. The place for family sampler options (a diffusion model's --scheduler,
    /// --steps, --guidance-scale): build the delegate from them here; the workflow only calls it.
    /// </summary>
    static Func<int, TorchSharp.torch.Tensor?, TorchSharp.torch.Tensor> SamplerFor(LoadedModel m, Args a, JsonObject json)
    {
        if (m.Model is GenSharp.Models.Energy.EbmModel ebm)
        {
            foreach (var flag in new[] { "scheduler", "eta", "guidance-scale" })
                if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} applies to diffusion checkpoints (ddpm); ebm samples by Langevin dynamics (--steps N, --init noise|buffer)");
            var cfg = (GenSharp.Models.Energy.EbmConfig)ebm.Config;
            var (requested, init) = LangevinFlags(a, cfg);
            int langevinSteps = requested ?? cfg.SampleSteps;
            json["langevin_steps"] = langevinSteps;
            json["init"] = init;
            return (n, _) => ebm.Sample(n, langevinSteps, init == "buffer");
        }
        if (a.Get("init") is not null) throw new GenSharpException($"--init applies to ebm checkpoints; this is a {m.Family.Name} checkpoint");
        if (m.Model is not IDiffusionSampler diffusion)
        {
            foreach (var flag in new[] { "scheduler", "steps", "eta", "guidance-scale" })
                if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} applies to diffusion checkpoints (ddpm); {m.Family.Name} samples without a scheduler");
            return SampleQuality.SamplerOf(m.Model);
        }
        var defaults = (GenSharp.Models.Diffusion.DdpmConfig)m.Model.Config;
        var (name, steps, eta) = SchedulerFlags(a, defaults);
        double w = a.Double("guidance-scale") ?? defaults.SamplerGuidance;
        DiffusionWorkflows.CheckGuidanceScale(w);
        var scheduler = diffusion.CreateScheduler(name, steps, eta);
        json["scheduler"] = name;
        json["sampler_steps"] = scheduler.Timesteps.Count;
        json["eta"] = eta;
        if (m.Model.ConditionalClasses > 0) json["guidance_scale"] = w;
        // The global generator, which the sample-quality workflow seeds, drives the sampler's noise.
        return (n, labels) => diffusion.Sample(n, labels, scheduler, w, null);
    }

    /// <summary>eval --inpaint-mask: a diffusion or energy model's inpainting of N test images, scored by the classifier.</summary>
    static int InpaintMetrics(Args a, LoadedModel? m, string maskSpec, string? classifierPath, JsonObject json)
    {
        if (m?.Model is not (GenSharp.Models.IInpainting or GenSharp.Models.IClampedInpainting))
            throw new GenSharpException("--inpaint-mask needs a ddpm or ebm checkpoint (the families that inpaint)");
        if (classifierPath is null) throw new GenSharpException("--inpaint-mask needs --classifier CLS_CKPT to score the inpaintings");
        foreach (var flag in new[] { "samples", "guidance-scale" })
            if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} does not apply to --inpaint-mask (inpainting uses no class and no guidance)");
        if (a.Get("init") is not null) throw new GenSharpException("--init does not apply to --inpaint-mask (inpainting starts the unknown pixels from noise)");
        using var c = ModelLoader.Load(classifierPath, DeviceOf(a));
        var classifier = AsClassifier(c, classifierPath);
        using var test = FashionMnist.Load(a.Get("data"), train: false);
        var size = ImageFamilyConfig.Of(m.Model).ImageSize;
        long seed = a.Long("seed") ?? 0;
        int n = a.Int("n") ?? 1000;
        var mask = DiffusionWorkflows.Mask(maskSpec, size, seed);
        json["family"] = m.Family.Name;
        json["checkpoint"] = m.Path;
        json["step"] = m.Step;
        json["classifier"] = c.Path;
        json["mask"] = maskSpec;
        BatchInpainter inpaint;
        string how;
        if (m.Model is IDiffusionSampler diffusion && m.Model is GenSharp.Models.IInpainting diffusionInpainting)
        {
            var defaults = (GenSharp.Models.Diffusion.DdpmConfig)m.Model.Config;
            var (name, steps, eta) = SchedulerFlags(a, defaults);
            var scheduler = diffusion.CreateScheduler(name, steps, eta);
            int resample = a.Int("resample") ?? 1;
            int? jump = a.Int("jump");
            inpaint = (images, known, gen) => diffusionInpainting.Inpaint(images, known, null, scheduler, gen, resample, jump);
            how = $"{name} {steps} steps" + (resample > 1 ? $", RePaint resampling ×{resample} every {GenSharp.Sampling.RePaintPlan.JumpOrDefault(jump, steps)} steps" : "");
            json["scheduler"] = name;
            json["sampler_steps"] = scheduler.Timesteps.Count;
            json["eta"] = eta;
            json["resample"] = resample;
            if (resample > 1) json["jump"] = GenSharp.Sampling.RePaintPlan.JumpOrDefault(jump, steps);
        }
        else
        {
            foreach (var flag in new[] { "scheduler", "eta", "resample", "jump" })
                if (a.Get(flag) is not null) throw new GenSharpException($"--{flag} applies to diffusion inpainting; {m.Family.Name} inpaints by Langevin dynamics (--steps N)");
            var clamped = (GenSharp.Models.IClampedInpainting)m.Model;
            int? steps = a.Int("steps");
            if (steps is < 0) throw new GenSharpException($"--steps must be ≥ 0, got {steps}");
            inpaint = (images, known, gen) => clamped.Inpaint(images, known, steps, gen);
            int shown = steps ?? (m.Model.Config is GenSharp.Models.Energy.EbmConfig ec ? ec.SampleSteps : 0);
            how = $"Langevin {shown} steps with the known pixels clamped";
            json["langevin_steps"] = shown;
        }
        Action<string>? log = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"eval: {line}");
        var r = InpaintQuality.Evaluate(m.Model, inpaint, classifier, test, mask, n, a.Int("batch-size") ?? 64, seed, log);
        Console.WriteLine($"inpainting: {n} random test images of {test.Source}, mask {maskSpec} ({r["known_fraction"] * 100:F0}% known), no class given, {how}");
        Console.WriteLine($"FD-cls(inpainted, originals) {r["inpaint_fd_cls"]:G4} · classifier accuracy on inpaintings {r["inpaint_accuracy"] * 100:F1}% " +
            $"(originals {r["original_accuracy"] * 100:F1}%, grey-masked inputs {r["masked_accuracy"] * 100:F1}%) · RMSE on unknown pixels {r["inpaint_rmse"]:F3} · " +
            $"{r["inpaint_images_per_s"]:G3} images/s");
        foreach (var (k, v) in r) json[k] = double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    /// <summary>The --classifier checkpoint's model, or the one-line error when it holds another family.</summary>
    static ClassifierModel AsClassifier(LoadedModel c, string path) =>
        c.Model as ClassifierModel
        ?? throw new GenSharpException($"--classifier {path} holds a {c.Family.Name} checkpoint; pass one trained with 'gensharp train classifier'");

    static void SampleQualityMetrics(Args a, LoadedModel? m, string classifierPath, string? samplesPath, JsonObject json)
    {
        using var c = ModelLoader.Load(classifierPath, DeviceOf(a));
        var classifier = AsClassifier(c, classifierPath);
        using var test = FashionMnist.Load(a.Get("data"), train: false);
        using var train = FashionMnist.Load(a.Get("data"), train: true);
        var options = new SampleQualityOptions
        {
            Seed = a.Long("seed") ?? 0,
            BatchSize = a.Int("batch-size") ?? 250,
            Memorisation = !a.Has("no-memorisation"),
        };
        Action<string>? log = Console.IsErrorRedirected ? null : line => Console.Error.WriteLine($"eval: {line}");
        Dictionary<string, double> r;
        string what;
        if (samplesPath is not null)
        {
            using var samples = GenSharp.Media.Npy.Load(samplesPath);
            if (samples.dim() != 4) throw new GenSharpException($"--samples {samplesPath}: expected an N×C×H×W uint8 array, got {samples.dim()} dimensions");
            options = options with { N = a.Int("n") ?? (int)Math.Min(1000, samples.shape[0]) };
            r = SampleQuality.EvaluateSamples(samples, null, classifier, test, train, options, log);
            what = $"{options.N} samples from {samplesPath}";
            json["samples"] = samplesPath;
        }
        else
        {
            if (m!.Model is ClassifierModel) throw new GenSharpException("a classifier cannot sample; give a generative checkpoint or --samples FILE.npy");
            options = options with { N = a.Int("n") ?? 1000 };
            r = SampleQuality.Evaluate(SamplerFor(m, a, json), m.Model.ConditionalClasses, classifier, test, train, options, log);
            what = $"{options.N} samples of {m.Family.Name}" + (m.Model.ConditionalClasses > 0 ? $" ({m.Model.ConditionalClasses} classes asked equally)" : "");
        }
        Console.WriteLine($"sample quality: {what} vs {options.N} random test images of {test.Source}; FD-cls, KID (unbiased MMD², cubic kernel), " +
            $"precision/recall (k = {options.PrecisionRecallK}) on the {classifier.FeatureDim}-d penultimate features of {c.Path}" +
            (options.Memorisation ? $"; memorisation = pixel L2 (pixels in [0,1]) to the nearest of {train.Count} training images" : ""));
        Console.WriteLine($"FD-cls {r["fd_cls"]:G4} (train vs test at this N: {r["fd_cls_train_vs_test"]:G4}) · KID {r["kid"]:G4} ± {r["kid_stderr"]:G2} · " +
            $"precision {r["precision"]:F3} · recall {r["recall"]:F3} · class entropy {r["class_entropy_normalized"]:F3} of max" +
            (r.TryGetValue("class_agreement", out var agree) ? $" · class agreement {agree:F3}" : "") +
            (r.TryGetValue("mem_flagged", out var flagged) ? $" · {flagged} samples closer to training than any test image" : "") +
            (r.TryGetValue("sample_images_per_s", out var ips) ? $" · {ips:G4} images/s" : ""));
        json["classifier"] = c.Path;
        foreach (var (k, v) in r) json[k] = double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    static int Score(Args a)
    {
        using var m = ModelLoader.Load(a.Positional("a checkpoint folder", "score"), DeviceOf(a));
        a.Require("data", "score");
        using var data = TestData(a);
        var outPath = a.Require("out", "score");
        var scores = ImageWorkflows.Score(m.Model, data, outPath, a.Long("seed") ?? 0);
        Console.WriteLine($"wrote {scores.Length} scores to {outPath}");
        if (a.Int("anomaly-class") is { } k)
        {
            if (k < 0 || k >= data.NumClasses) throw new GenSharpException($"--anomaly-class {k}: must be in [0, {data.NumClasses - 1}]");
            var auroc = ImageWorkflows.AnomalyAuroc(scores, data, k);
            Console.WriteLine(new JsonObject { ["anomaly_class"] = k, ["auroc"] = Math.Round(auroc, 5), ["items"] = scores.Length }.ToJsonString());
        }
        return 0;
    }

    static int Encode(Args a)
    {
        using var m = ModelLoader.Load(a.Positional("a checkpoint folder", "encode"), DeviceOf(a));
        a.Require("data", "encode");
        using var data = TestData(a);
        var outPath = a.Require("out", "encode");
        var codes = ImageWorkflows.Encode(m.Model, data, outPath, a.Int("bits") ?? 8);
        using var decoded = ImageWorkflows.Decode(m.Model, codes);
        double psnr = ImageWorkflows.MeanPsnr(data, decoded);
        long bytes = new FileInfo(outPath).Length;
        Console.WriteLine($"wrote {codes.Count} codes to {outPath} ({bytes} bytes)");
        Console.WriteLine(new JsonObject
        {
            ["items"] = codes.Count, ["bits_per_image"] = codes.BitsPerImage,
            ["file_bits_per_image"] = Math.Round(bytes * 8.0 / codes.Count, 3),
            ["raw_bits_per_image"] = data.Channels * data.Height * data.Width * 8,
            ["psnr_db"] = Math.Round(psnr, 3),
        }.ToJsonString());
        return 0;
    }

    static int Decode(Args a)
    {
        if (a.Positionals.Count != 2) throw new GenSharpException("'decode' needs CKPT FILE.codes; see 'gensharp decode --help'");
        using var m = ModelLoader.Load(a.Positionals[0], DeviceOf(a));
        var codes = LatentCodes.Load(a.Positionals[1]);
        var outPath = a.Require("out", "decode");
        using var images = ImageWorkflows.Decode(m.Model, codes);
        ImageWorkflows.SaveImages(images, outPath);
        Console.WriteLine($"decoded {codes.Count} images to {outPath}");
        return 0;
    }

    static int Denoise(Args a)
    {
        using var m = ModelLoader.Load(a.Positional("a checkpoint folder", "denoise"), DeviceOf(a));
        a.Require("data", "denoise");
        var noise = ImageNoise.Parse(a.Require("noise", "denoise"));
        using var data = TestData(a);
        var outPath = a.Require("out", "denoise");
        var (before, after) = ImageWorkflows.Denoise(m.Model, data, noise, outPath, a.Long("seed") ?? 0);
        Console.WriteLine($"wrote {outPath} (rows: clean, noisy, denoised)");
        Console.WriteLine(new JsonObject
        {
            ["noise"] = noise.ToString(), ["items"] = data.Count,
            ["psnr_noisy_db"] = Math.Round(before, 3), ["psnr_denoised_db"] = Math.Round(after, 3),
        }.ToJsonString());
        return 0;
    }

    static int Quickstart(Args a)
    {
        var outDir = a.Get("out") ?? Path.Combine("runs", "quickstart");
        foreach (var sub in new[] { "vae", "dcgan" })
            if (GenSharp.Checkpoints.CheckpointFolder.Exists(Path.Combine(outDir, sub)))
                throw new GenSharpException($"{outDir}/{sub} already holds a run; pass another --out or delete it");
        var progress = TrainingProgress.Console();
        Console.WriteLine($"GenSharp quickstart → {outDir} (embedded Fashion-MNIST subset, CPU)");
        var vae = TrainWorkflow.Run(new TrainRequest
        {
            Family = "vae", OutDir = Path.Combine(outDir, "vae"), Data = "embedded", Steps = 1500, BatchSize = 64, Seed = 0,
            CheckpointEvery = 500, SampleEvery = 500,
        }, progress);
        var gan = TrainWorkflow.Run(new TrainRequest
        {
            Family = "dcgan", OutDir = Path.Combine(outDir, "dcgan"), Data = "embedded", Steps = 1500, BatchSize = 64, Seed = 0,
            CheckpointEvery = 500, SampleEvery = 500, Sets = new[] { "conditional=true", "generator_channels=32", "discriminator_channels=32" },
        }, progress);
        using var m = ModelLoader.Load(vae.CheckpointPath, torch.CPU);
        using var test = FashionMnist.Load("embedded", train: false);
        var r = ImageWorkflows.Eval(m.Model, test, null, new EvalSettings(100, 0));
        ImageWorkflows.Sample(m.Model, Path.Combine(outDir, "vae_samples.png"), 64, 0, null);
        using var g = ModelLoader.Load(gan.CheckpointPath, torch.CPU);
        ImageWorkflows.Sample(g.Model, Path.Combine(outDir, "dcgan_samples.png"), 100, 0, null);
        Console.WriteLine($"VAE  : {vae.Step} steps, {vae.Seconds:F0}s; test NLL (IWAE, k=100) {r["iwae_nll"]:F2} nats = {r["iwae_nll_bpd"]:F4} bits/dim; neg. ELBO {r["neg_elbo"]:F2} nats");
        Console.WriteLine($"DCGAN: {gan.Step} steps, {gan.Seconds:F0}s; conditional, one row per class");
        Console.WriteLine($"pictures: {outDir}/vae_samples.png, {outDir}/dcgan_samples.png, {outDir}/vae/reconstructions.png, {outDir}/vae/interpolation.png, */loss.png");
        var json = new JsonObject { ["vae_iwae_nll"] = Math.Round(r["iwae_nll"], 4), ["vae_iwae_bpd"] = Math.Round(r["iwae_nll_bpd"], 5), ["vae_neg_elbo"] = Math.Round(r["neg_elbo"], 4) };
        Console.WriteLine(json.ToJsonString());
        return 0;
    }
}
