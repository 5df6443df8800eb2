using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using GenSharp.Cli.Commands;
using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace GenSharp.Cli;

/// <summary>
/// The <c>gensharp</c> command line: one <see cref="Command{TSettings}"/> class per command (Spectre.Console.Cli), each
/// parsing its settings and calling a library pipeline. Exit codes: 0 ok, 1 bad input, 2 usage error, 3 training
/// diverged, 130/143 training interrupted by SIGINT/SIGTERM after saving a checkpoint.
/// </summary>
public static class GenSharpCli
{
    /// <summary>A command: its name, class, settings type, one-line description and an example.</summary>
    public sealed record Entry(string Name, Type Command, Type Settings, string Description, string[] Example);

    /// <summary>Every command, in the order help lists them.</summary>
    public static readonly IReadOnlyList<Entry> Commands = new Entry[]
    {
        new("info", typeof(InfoCommand), typeof(CliSettings), "versions, devices, threads, CUDA availability", ["info"]),
        new("list", typeof(ListCommand), typeof(ListSettings), "model families: what each does, its speed and memory on 2 cores, its config fields", ["list", "vae"]),
        new("train", typeof(TrainCommand), typeof(TrainSettings), "train a model; writes DIR/checkpoint, DIR/metrics.jsonl, DIR/loss.png, DIR/samples/ ('gensharp train FAMILY --help' lists the family's fields)", ["train", "vae", "--out", "runs/vae", "--steps", "2000"]),
        new("finetune", typeof(FinetuneCommand), typeof(FinetuneSettings), "LoRA fine-tuning of a text model (gpt, gpt2, llama family) on text or chat JSONL; writes a PEFT-format adapter to DIR, --merge a merged model", ["finetune", "runs/gpt", "--data", "chat.jsonl", "--out", "runs/gpt-lora"]),
        new("merge-adapter", typeof(MergeAdapterCommand), typeof(MergeAdapterSettings), "merge a LoRA adapter (PEFT format) into its base and write the merged model folder", ["merge-adapter", "runs/gpt-lora", "--out", "runs/gpt-merged"]),
        new("sample", typeof(SampleCommand), typeof(SampleSettings), "draw images: a PNG grid (one row per class when conditional) or an N×C×H×W uint8 .npy; sweeps, strips and GIFs, image completion, inpainting", ["sample", "runs/vae", "--out", "samples.png"]),
        new("speak", typeof(SpeakCommand), typeof(SpeakSettings), "text-to-speech with a tts checkpoint: writes a WAV and its spectrogram PNG; --input-file speaks many lines, --resynthesize re-speaks a recording from its mel frames", ["speak", "runs/tts", "Please enter your password.", "--out", "hello.wav"]),
        new("interpolate", typeof(InterpolateCommand), typeof(InterpolateSettings), "latent interpolation between pairs of test images of different classes (models with an encoder: vae, realnvp, glow)", ["interpolate", "runs/vae", "--data", "embedded", "--out", "interp.png"]),
        new("eval", typeof(EvalCommand), typeof(EvalCommandSettings), "test metrics: likelihood in nats and bits/dim (or a classifier's accuracy, a text model's perplexity) and, with --classifier, sample quality (FD-cls, KID, precision/recall, memorisation); last line is JSON", ["eval", "runs/vae", "--data", "embedded"]),
        new("generate", typeof(GenerateCommand), typeof(GenerateSettings), "generate text with a gpt checkpoint or a Hugging Face model folder (gpt2, llama, qwen2, mistral), printed as it is decoded; last line is JSON", ["generate", "runs/gpt", "--prompt", "ROMEO:"]),
        new("chat", typeof(ChatCommand), typeof(ChatSettings), "talk to a text model: one message per line on standard input, replies streamed, the conversation kept; /reset, /exit", ["chat", "runs/chat", "--template", "plain"]),
        new("serve", typeof(ServeCommand), typeof(ServeSettings), "an OpenAI-compatible HTTP server (chat and text completions, streaming) for the text models in a folder, each named by its sub-folder", ["serve", "--models", "runs", "--port", "8000"]),
        new("quantize", typeof(QuantizeCommand), typeof(QuantizeSettings), "store a text model's linear layers (and head) in int8 or int4; writes a folder that generate, chat, eval and serve load", ["quantize", "runs/gpt", "--bits", "8", "--out", "runs/gpt-int8"]),
        new("score", typeof(ScoreCommand), typeof(ScoreSettings), "per-item anomaly scores (negative log-likelihood or its bound, nats) of the test split; with --anomaly-class the AUROC", ["score", "runs/vae", "--data", "embedded", "--out", "scores.csv"]),
        new("encode", typeof(EncodeCommand), typeof(EncodeSettings), "compress test images to quantised latent codes; prints bits per image and reconstruction PSNR", ["encode", "runs/vae", "--data", "embedded", "--out", "test.codes"]),
        new("decode", typeof(DecodeCommand), typeof(DecodeSettings), "decode latent codes back to images", ["decode", "runs/vae", "test.codes", "--out", "decoded.png"]),
        new("denoise", typeof(DenoiseCommand), typeof(DenoiseSettings), "corrupt test images and reconstruct them (autoencoders; ebm: Langevin from the noisy image); prints PSNR before and after", ["denoise", "runs/vae", "--data", "embedded", "--noise", "gaussian:0.3", "--out", "denoised.png"]),
        new("embed", typeof(EmbedCommand), typeof(EmbedSettings), "sentence embeddings of every line of a text file with 'minilm' (built in, no download) or a BERT / sentence-transformers folder; writes an N×D float32 .npy", ["embed", "minilm", "--data", "texts.txt", "--out", "emb.npy"]),
        new("rag", typeof(RagCommand), typeof(RagSettings), "retrieval-augmented answers with citations: 'rag ingest DIR --index NAME' chunks and embeds text, Markdown, HTML and PDF files into a SQLite index (only changed files are redone); 'rag ask NAME \"question\" --model LM' answers from the best chunks and lists them as [1], [2]", ["rag", "ingest", "docs", "--index", "docs"]),
        new("watermark", typeof(WatermarkCommand), typeof(WatermarkSettings), "check images for GenSharp's invisible watermark ('watermark detect IMAGE...', Tree-Ring with --model), or measure its robustness ('watermark eval'); detect exits 0 when every image is watermarked, 4 when one is not", ["watermark", "detect", "sample.png"]),
        new("provenance", typeof(ProvenanceCommand), typeof(ProvenanceSettings), "check the signed manifest beside a generated image ('provenance verify IMAGE...': what made it, is it unchanged); exits 0 when every image verifies, 4 when one does not", ["provenance", "verify", "sample.png"]),
        new("quickstart", typeof(QuickstartCommand), typeof(QuickstartSettings), "train a small VAE and a small conditional DCGAN on the embedded Fashion-MNIST subset (~4 min on 2 cores)", ["quickstart"]),
        new("help", typeof(HelpCommand), typeof(HelpSettings), "help on a command: 'gensharp help train'", ["help", "sample"]),
    };

    /// <summary>Runs the CLI; returns the process exit code.</summary>
    public static int Run(string[] argv)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = Console.IsOutputRedirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
        });
        if (argv.Length == 0) { PrintRootHelp(console); return 2; }
        if (argv[0] is "--help" or "-h") { PrintRootHelp(console); return 0; }
        if (argv[0] is "--version") { Console.WriteLine(TorchRuntime.GenSharpVersion); return 0; }
        var entry = Commands.FirstOrDefault(c => c.Name == argv[0]);
        string name = entry?.Name ?? argv[0];
        try
        {
            if (entry is null)
            {
                var close = Suggest.Closest(argv[0], Commands.Select(c => c.Name));
                throw new UsageException($"unknown command '{argv[0]}'" + (close is null ? "" : $"; did you mean '{close}'?") +
                                         $" commands: {string.Join(", ", Commands.Select(c => c.Name))}");
            }
            if (entry.Name == "help") return Help(console, argv.Skip(1).ToArray());
            bool wantsHelp = argv.Skip(1).Any(a => a is "--help" or "-h");
            if (wantsHelp)
            {
                Build(console).Run(new[] { entry.Name, "--help" });
                if (entry.Name == "train" && argv.Skip(1).FirstOrDefault(a => !a.StartsWith('-')) is { } family)
                    ListCommand.PrintFamily(FamilyRegistry.Get(family), fields: true);
                return 0;
            }
            CheckArguments(entry, argv.Skip(1).ToList());
            return Build(console).Run(SpectreSpelling(argv));
        }
        catch (Exception e) when (Describe(e, entry) is { } d)
        {
            Console.Error.WriteLine($"gensharp {name}: {d.Message}");
            return d.Code;
        }
    }

    /// <summary>Exit code and one-line message for what a command threw.</summary>
    static (int Code, string Message)? Describe(Exception e, Entry? entry)
    {
        if (e is CommandAppException { InnerException: { } inner }) e = inner;
        return e switch
        {
            UsageException u => (2, u.Message),
            CommandParseException or CommandRuntimeException => (2, $"{e.Message.TrimEnd('.')}; see 'gensharp {entry?.Name} --help'"),
            TrainingDivergedException d => (3, d.Message),
            ParameterException p => (1, $"{FlagOf(p.Parameter, entry)} {p.Detail}"),
            GenSharpException g => (1, g.Message),
            IOException or UnauthorizedAccessException => (1, e.Message),
            _ => null,   // a bug, not a user mistake: let it surface with its stack trace
        };
    }

    /// <summary>How the command line spells a library parameter: its option when the command has one, else the plain name.</summary>
    public static string FlagOf(string parameter, Entry? entry)
    {
        string flag = parameter switch
        {
            "count" or "per_image" => "n",
            "strip_columns" => "strip",
            "frames" => "gif",
            "max_new_tokens" => "max-tokens",
            "sets" => "set",
            "config_file" => "config",
            "out_dir" => "out",
            "ema_decay" => "ema",
            _ => parameter.Replace('_', '-'),
        };
        return entry is not null && OptionsOf(entry.Settings).ContainsKey(flag) ? $"--{flag}" : parameter.Replace('_', ' ');
    }

    static ICommandApp Build(IAnsiConsole console)
    {
        var app = new CommandApp();
        app.Configure(c =>
        {
            c.SetApplicationName("gensharp");
            c.Settings.Console = console;
            c.Settings.StrictParsing = true;
            c.Settings.ShowOptionDefaultValues = true;
            c.PropagateExceptions();
            foreach (var e in Commands)
            {
                var add = typeof(IConfigurator).GetMethod(nameof(IConfigurator.AddCommand))!.MakeGenericMethod(e.Command);
                var cmd = (ICommandConfigurator)add.Invoke(c, new object[] { e.Name })!;
                cmd.WithDescription(Markup.Escape(e.Description)).WithExample(e.Example);
            }
        });
        return app;
    }

    static void PrintRootHelp(IAnsiConsole console) => Build(console).Run(new[] { "--help" });

    static int Help(IAnsiConsole console, string[] rest)
    {
        if (rest.Length == 0 || rest[0] is "--help" or "-h") { PrintRootHelp(console); return 0; }
        if (Commands.All(c => c.Name != rest[0]))
        {
            var close = Suggest.Closest(rest[0], Commands.Select(c => c.Name));
            throw new UsageException($"no command '{rest[0]}'" + (close is null ? "" : $"; did you mean '{close}'?"));
        }
        return Run(rest.Take(rest[0] == "train" && rest.Length > 1 ? 2 : 1).Append("--help").ToArray());
    }

    /// <summary>An option of a settings type: whether it takes a value, and the value's type.</summary>
    sealed record OptionInfo(string Name, bool TakesValue, Type ValueType);

    static Dictionary<string, OptionInfo> OptionsOf(Type settings)
    {
        var result = new Dictionary<string, OptionInfo>(StringComparer.Ordinal);
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var attr = p.GetCustomAttribute<CommandOptionAttribute>();
            if (attr is null) continue;
            var type = p.PropertyType.IsArray ? p.PropertyType.GetElementType()! : p.PropertyType;
            foreach (var n in attr.LongNames.Concat(attr.ShortNames))
                result[n] = new OptionInfo(n, attr.ValueName is not null, Nullable.GetUnderlyingType(type) ?? type);
        }
        return result;
    }

    /// <summary>
    /// Checks what Spectre reports poorly: unknown options (with a suggestion), a missing value, a value that is not a
    /// number where one is needed — each a one-line usage error naming the option.
    /// </summary>
    static void CheckArguments(Entry entry, List<string> args)
    {
        var options = OptionsOf(entry.Settings);
        for (int i = 0; i < args.Count; i++)
        {
            var tok = args[i];
            if (!tok.StartsWith("--", StringComparison.Ordinal) || tok.Length == 2) continue;
            string name = tok[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            if (!options.TryGetValue(name, out var opt))
            {
                var close = Suggest.Closest(name, options.Keys);
                throw new UsageException($"unknown option --{name} for '{entry.Name}'" + (close is null ? "" : $"; did you mean --{close}?") +
                                         $" See 'gensharp {entry.Name} --help'");
            }
            if (!opt.TakesValue)
            {
                if (value is not null) throw new UsageException($"--{name} takes no value");
                continue;
            }
            if (value is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2 && !IsNumber(args[i + 1])))
                    throw new UsageException($"--{name} needs a value; see 'gensharp {entry.Name} --help'");
                value = args[++i];
            }
            var ci = CultureInfo.InvariantCulture;
            if ((opt.ValueType == typeof(int) || opt.ValueType == typeof(long)) && !long.TryParse(value, NumberStyles.Integer, ci, out _))
                throw new UsageException($"--{name} {value}: expected a whole number");
            if (opt.ValueType == typeof(int) && long.TryParse(value, NumberStyles.Integer, ci, out var l) && l is < int.MinValue or > int.MaxValue)
                throw new UsageException($"--{name} {value}: out of range");
            if (opt.ValueType == typeof(double) && !double.TryParse(value, NumberStyles.Float, ci, out _))
                throw new UsageException($"--{name} {value}: expected a number");
        }
    }

    /// <summary>
    /// Spectre takes one-letter options only as short options (-n); GenSharp's flags have always been --n and --k, so
    /// those spellings are rewritten before parsing.
    /// </summary>
    static string[] SpectreSpelling(string[] argv) => argv.SelectMany(a =>
    {
        if (a.Length >= 3 && a.StartsWith("--", StringComparison.Ordinal) && (a.Length == 3 || a[3] == '='))
            return a.Length == 3 ? new[] { a[1..] } : new[] { a[1..3], a[4..] };
        return new[] { a };
    }).ToArray();

    static bool IsNumber(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>Applies --threads and makes libtorch ready; every command that touches tensors calls it first.</summary>
    public static void Prepare(CliSettings s)
    {
        TorchRuntime.EnsureReady();
        if (s.Threads is { } threads)
        {
            if (threads < 1) throw new GenSharpException($"--threads must be ≥ 1, got {threads}");
            TorchRuntime.SetThreads(threads);
        }
    }
}
