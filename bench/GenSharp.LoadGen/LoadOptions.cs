using System.Globalization;

namespace GenSharp.LoadGen;

/// <summary>The command line of the load generator, parsed and checked.</summary>
sealed record LoadOptions
{
    public const string Usage =
        "usage: GenSharp.LoadGen --url http://127.0.0.1:PORT --model NAME [--clients N] (--requests-per-client K | --duration SECONDS)\n" +
        "         [--endpoint completions|chat] [--max-tokens T] [--prompt-tokens P] [--temperature 0.8] [--ignore-eos] [--seed S]\n" +
        "         [--warmup N] [--pid PID] [--metrics-url URL] [--label TEXT] [--extra KEY=VALUE ...] [--close-connections] [--out results.jsonl]\n" +
        "       GenSharp.LoadGen --images --url URL --model NAME [--clients N] (--requests-per-client K | --duration S)\n" +
        "         [--n IMAGES] [--steps N] [--scheduler ddpm|ddim] [--prompt TEXT] [--seed S] [--out results.jsonl]\n" +
        "\n" +
        "  --clients N (1) concurrent clients, each sending its requests one after another\n" +
        "  --endpoint (completions) /v1/completions or /v1/chat/completions, streamed with include_usage\n" +
        "  --max-tokens T (128); --prompt-tokens P (32): a prompt of P words from a fixed list, new for every request\n" +
        "  --ignore-eos sends \"ignore_eos\": true (llama-server honours it); --temperature (0.8); --seed S (0)\n" +
        "  --warmup N (1) unmeasured short requests first (model loading stays out of the figures)\n" +
        "  --pid PID: the server's VmRSS every --rss-interval seconds (10); --metrics-url URL: /metrics counter deltas\n" +
        "  --close-connections: a new TCP connection per request (needed for llama-server's streamed responses)\n" +
        "  --images: POST /v1/images/generations, n images per request; --steps/--scheduler are GenSharp extras\n" +
        "  --out FILE: append the JSON line (also printed last on stdout, after a readable summary)";

    public required Uri Url { get; init; }
    public required string Model { get; init; }
    public int Clients { get; init; } = 1;
    public int? RequestsPerClient { get; init; }
    public double? DurationSeconds { get; init; }
    public string Endpoint { get; init; } = "completions";
    public int MaxTokens { get; init; } = 128;
    public int PromptWords { get; init; } = 32;
    public double Temperature { get; init; } = 0.8;
    public bool IgnoreEos { get; init; }
    /// <summary>Send <c>Connection: close</c>: a new TCP connection per request.</summary>
    public bool CloseConnections { get; init; }
    public long Seed { get; init; }
    public int Warmup { get; init; } = 1;
    public int? Pid { get; init; }
    public Uri? MetricsUrl { get; init; }
    public string? Label { get; init; }
    public string? Out { get; init; }
    /// <summary>KEY=VALUE pairs copied into the JSON line as they are (the server's settings, for example).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Extra { get; init; } = [];
    public double RssIntervalSeconds { get; init; } = 10;
    // Image mode.
    public bool Images { get; init; }
    public int ImagesPerRequest { get; init; } = 1;
    public int? Steps { get; init; }
    public string? Scheduler { get; init; }
    public string Prompt { get; init; } = "an image";

    /// <summary>Parses the arguments; throws <see cref="UsageException"/> with a one-line message on bad input.</summary>
    public static LoadOptions Parse(string[] args)
    {
        string? url = null, model = null, endpoint = "completions", metrics = null, label = null, outPath = null, scheduler = null, prompt = null;
        int clients = 1, maxTokens = 128, promptWords = 32, warmup = 1, n = 1;
        int? perClient = null, pid = null, steps = null;
        double? duration = null;
        double temperature = 0.8, rssInterval = 10;
        long seed = 0;
        bool ignoreEos = false, images = false, close = false;
        var extra = new List<KeyValuePair<string, string>>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{a} needs a value");
            int Int(int min) => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min
                ? v : throw new UsageException($"{a} takes an integer ≥ {min}, got '{args[i]}'");
            double Real(double min) => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) && v >= min
                ? v : throw new UsageException($"{a} takes a number ≥ {min}, got '{args[i]}'");
            switch (a)
            {
                case "--url": url = Value(); break;
                case "--model": model = Value(); break;
                case "--clients": clients = Int(1); break;
                case "--requests-per-client": perClient = Int(1); break;
                case "--duration": duration = Real(0.001); break;
                case "--endpoint": endpoint = Value(); break;
                case "--max-tokens": maxTokens = Int(1); break;
                case "--prompt-tokens": promptWords = Int(1); break;
                case "--temperature": temperature = Real(0); break;
                case "--ignore-eos": ignoreEos = true; break;
                case "--close-connections": close = true; break;
                case "--seed": seed = Int(0); break;
                case "--warmup": warmup = Int(0); break;
                case "--pid": pid = Int(1); break;
                case "--metrics-url": metrics = Value(); break;
                case "--label": label = Value(); break;
                case "--out": outPath = Value(); break;
                case "--extra":
                    var pair = Value();
                    int eq = pair.IndexOf('=');
                    if (eq < 1) throw new UsageException($"--extra takes KEY=VALUE, got '{pair}'");
                    extra.Add(new(pair[..eq], pair[(eq + 1)..]));
                    break;
                case "--rss-interval": rssInterval = Real(0.1); break;
                case "--images": images = true; break;
                case "--n": n = Int(1); break;
                case "--steps": steps = Int(1); break;
                case "--scheduler": scheduler = Value(); break;
                case "--prompt": prompt = Value(); break;
                case "-h" or "--help": throw new HelpRequested();
                default: throw new UsageException($"unknown option '{a}'");
            }
        }
        if (url is null) throw new UsageException("--url is required (the server's base address, e.g. http://127.0.0.1:8080)");
        if (model is null) throw new UsageException("--model is required (the name the server knows the model by)");
        if (perClient is null == duration is null) throw new UsageException("give exactly one of --requests-per-client K and --duration SECONDS");
        if (endpoint is not ("completions" or "chat")) throw new UsageException($"--endpoint takes completions or chat, got '{endpoint}'");
        if (pid is { } p && !File.Exists($"/proc/{p}/status")) throw new UsageException($"--pid {p}: no such process (/proc/{p}/status is missing)");
        return new LoadOptions
        {
            Url = ParseUrl("--url", url), Model = model, Clients = clients, RequestsPerClient = perClient, DurationSeconds = duration,
            Endpoint = endpoint, MaxTokens = maxTokens, PromptWords = promptWords, Temperature = temperature, IgnoreEos = ignoreEos, CloseConnections = close,
            Seed = seed, Warmup = warmup, Pid = pid, MetricsUrl = metrics is null ? null : ParseUrl("--metrics-url", metrics),
            Label = label, Out = outPath, Extra = extra, RssIntervalSeconds = rssInterval,
            Images = images, ImagesPerRequest = n, Steps = steps, Scheduler = scheduler, Prompt = prompt ?? "an image",
        };
    }

    static Uri ParseUrl(string option, string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"
            ? u : throw new UsageException($"{option} takes an http:// or https:// address, got '{text}'");
}

/// <summary>A mistake on the command line: printed as one line, exit code 2.</summary>
sealed class UsageException(string message) : Exception(message);

/// <summary>--help: the usage on stdout, exit code 0.</summary>
sealed class HelpRequested : Exception;
