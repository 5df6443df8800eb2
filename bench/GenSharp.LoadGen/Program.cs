// A load generator for OpenAI-compatible servers (GenSharp's `gensharp serve`, llama.cpp's llama-server): N clients
// each stream completions one after another, for K requests each or for a duration, and one JSON line reports
// throughput, time to first token and inter-token latency percentiles; with --pid the server's resident memory, with
// --metrics-url the change of its token and request counters. --images measures /v1/images/generations instead.
// bench/serve.sh and bench/serve_images.sh drive it; `--help` prints the options.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.LoadGen;

static class Program
{
    static async Task<int> Main(string[] args)
    {
        LoadOptions o;
        try { o = LoadOptions.Parse(args); }
        catch (HelpRequested)
        {
            Console.WriteLine(LoadOptions.Usage);
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"loadgen: {e.Message} (--help lists the options)");
            return 2;
        }
        try { return await Run(o); }
        catch (LoadGenException e)
        {
            Console.Error.WriteLine($"loadgen: {e.Message}");
            return 1;
        }
    }

    static async Task<int> Run(LoadOptions o)
    {
        // llama-server closes a keep-alive connection after 5 idle seconds; a POST sent on it as it closes fails and is
        // not retried, so connections idle for 2 s are not reused (the /metrics one sits idle for the whole run).
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = o.Clients + 4, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(2) };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        // llama-server closes the connection after a streamed response although it answers "Keep-Alive"; the next POST
        // on it fails before reaching the server (curl retries it on a fresh connection). This asks for a new one each time.
        if (o.CloseConnections) http.DefaultRequestHeaders.ConnectionClose = true;
        var result = new JsonObject
        {
            ["time"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["label"] = o.Label, ["url"] = o.Url.ToString(), ["model"] = o.Model, ["kind"] = o.Images ? "images" : o.Endpoint,
            ["clients"] = o.Clients, ["mode"] = o.DurationSeconds is null ? "requests" : "duration",
            ["requests_per_client"] = o.RequestsPerClient, ["duration_s"] = o.DurationSeconds, ["seed"] = o.Seed,
            ["close_connections"] = o.CloseConnections,
        };
        foreach (var (key, value) in o.Extra) result[key] = value;
        await CheckServer(http, o);
        await Warmup(http, o);
        string? metricsBefore = o.MetricsUrl is null ? null : await Fetch(http, o.MetricsUrl, "--metrics-url");

        var rss = new List<double>();
        using var stopSampling = new CancellationTokenSource();
        Task sampler = Task.CompletedTask;
        if (o.Pid is { } pid)
        {
            if (ServerProbe.RssMb(pid) is { } first) rss.Add(first);
            sampler = SampleRss(pid, TimeSpan.FromSeconds(o.RssIntervalSeconds), rss, stopSampling.Token);
        }

        var clock = Stopwatch.StartNew();
        var deadline = o.DurationSeconds is { } d ? TimeSpan.FromSeconds(d) : (TimeSpan?)null;
        bool More(int done) => deadline is { } until ? clock.Elapsed < until : done < o.RequestsPerClient!.Value;
        string human;
        if (o.Images)
        {
            var runner = new ImageRequestRunner(http, o);
            var perClient = await Task.WhenAll(Enumerable.Range(0, o.Clients).Select(async c =>
            {
                var mine = new List<ImageResult>();
                for (int i = 0; More(i); i++) mine.Add(await runner.RunAsync(o.Seed + c * 100_000L + i, CancellationToken.None));
                return mine;
            }));
            double wall = clock.Elapsed.TotalSeconds;
            var all = perClient.SelectMany(r => r).ToList();
            var ok = all.Where(r => r.Ok).ToList();
            int images = ok.Sum(r => r.Images);
            var latency = ok.Select(r => r.LatencyMs).ToList();
            result["images_per_request"] = o.ImagesPerRequest;
            result["steps"] = o.Steps;
            result["scheduler"] = o.Scheduler;
            result["requests"] = all.Count;
            result["errors"] = all.Count - ok.Count;
            result["first_error"] = all.FirstOrDefault(r => !r.Ok)?.Error;
            result["images"] = images;
            result["wall_s"] = Math.Round(wall, 3);
            result["images_per_s"] = Math.Round(images / wall, 3);
            result["latency_p50_ms"] = Stats.Round(Stats.Quantile(latency, 0.5));
            result["latency_p99_ms"] = Stats.Round(Stats.Quantile(latency, 0.99));
            human = $"{o.Label ?? o.Model}: {o.Clients} clients, {all.Count} requests ({all.Count - ok.Count} errors), {images} images in {wall:F1} s = " +
                    $"{images / wall:F2} images/s; latency p50 {result["latency_p50_ms"]} ms, p99 {result["latency_p99_ms"]} ms";
        }
        else
        {
            var runner = new TextRequestRunner(http, o);
            var perClient = await Task.WhenAll(Enumerable.Range(0, o.Clients).Select(async c =>
            {
                var mine = new List<TextResult>();
                for (int i = 0; More(i); i++)
                    mine.Add(await runner.RunAsync(Prompts.Make(o.PromptWords, o.Seed, c, i), o.Seed + c * 100_000L + i, o.MaxTokens, CancellationToken.None));
                return mine;
            }));
            double wall = clock.Elapsed.TotalSeconds;
            var all = perClient.SelectMany(r => r).ToList();
            var ok = all.Where(r => r.Ok).ToList();
            int tokens = ok.Sum(r => r.CompletionTokens);
            var ttft = ok.Where(r => r.FirstTokenMs is not null).Select(r => r.FirstTokenMs!.Value).ToList();
            var itl = ok.SelectMany(r => r.InterTokenMs).ToList();
            result["endpoint"] = o.Endpoint == "chat" ? "/v1/chat/completions" : "/v1/completions";
            result["max_tokens"] = o.MaxTokens;
            result["prompt_words"] = o.PromptWords;
            result["temperature"] = o.Temperature;
            result["ignore_eos"] = o.IgnoreEos;
            result["requests"] = all.Count;
            result["errors"] = all.Count - ok.Count;
            result["first_error"] = all.FirstOrDefault(r => !r.Ok)?.Error;
            result["completion_tokens"] = tokens;
            result["prompt_tokens"] = ok.All(r => r.PromptTokens is not null) ? ok.Sum(r => r.PromptTokens!.Value) : null;
            result["content_chunks"] = ok.Sum(r => r.Chunks);
            result["usage_reported"] = ok.Count(r => r.UsageReported);
            result["short_requests"] = ok.Count(r => r.CompletionTokens < o.MaxTokens);
            result["wall_s"] = Math.Round(wall, 3);
            result["tokens_per_s"] = Math.Round(tokens / wall, 2);
            result["requests_per_s"] = Math.Round(ok.Count / wall, 3);
            result["ttft_p50_ms"] = Stats.Round(Stats.Quantile(ttft, 0.5));
            result["ttft_p99_ms"] = Stats.Round(Stats.Quantile(ttft, 0.99));
            result["itl_p50_ms"] = Stats.Round(Stats.Quantile(itl, 0.5), 2);
            result["itl_p99_ms"] = Stats.Round(Stats.Quantile(itl, 0.99), 2);
            human = $"{o.Label ?? o.Model}: {o.Clients} clients, {all.Count} requests ({all.Count - ok.Count} errors), {tokens} tokens in {wall:F1} s = " +
                    $"{tokens / wall:F1} tokens/s; TTFT p50 {result["ttft_p50_ms"]} ms p99 {result["ttft_p99_ms"]} ms; " +
                    $"ITL p50 {result["itl_p50_ms"]} ms p99 {result["itl_p99_ms"]} ms";
        }

        if (o.Pid is { } p)
        {
            stopSampling.Cancel();
            await sampler;
            if (ServerProbe.RssMb(p) is { } last) rss.Add(last);
            result["pid"] = p;
            result["rss_start_mb"] = rss.Count > 0 ? Math.Round(rss[0], 1) : null;
            result["rss_end_mb"] = rss.Count > 0 ? Math.Round(rss[^1], 1) : null;
            result["rss_max_mb"] = rss.Count > 0 ? Math.Round(rss.Max(), 1) : null;
            result["rss_samples"] = rss.Count;
            result["rss_mb"] = new JsonArray(rss.Select(x => (JsonNode)Math.Round(x, 1)).ToArray());
            // Growth after warm-up (caches and allocator arenas reach their size in the first minutes): from the sample a
            // fifth of the way in to the last one.
            if (rss.Count >= 5)
            {
                double warm = rss[rss.Count / 5];
                result["rss_warm_mb"] = Math.Round(warm, 1);
                result["rss_growth_after_warmup_pct"] = Math.Round(100 * (rss[^1] - warm) / warm, 2);
            }
            human += $"; RSS {result["rss_start_mb"]} → {result["rss_end_mb"]} MB (max {result["rss_max_mb"]})";
        }
        if (o.MetricsUrl is not null)
        {
            var after = await Fetch(http, o.MetricsUrl, "--metrics-url");
            var delta = new JsonObject();
            foreach (var (series, change) in PrometheusText.CounterDelta(metricsBefore!, after)) delta[series] = change;
            result["metrics_delta"] = delta;
        }
        // Close the client's connections, then count what the server still holds open on its port.
        http.Dispose();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var (established, closeWait) = ServerProbe.Connections(o.Url.Port);
        result["tcp_established_after"] = established;
        result["tcp_close_wait_after"] = closeWait;
        human += $"; server TCP after: {established} established, {closeWait} close-wait";

        var line = result.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        if (o.Out is not null)
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(o.Out));
            if (dir is not null) Directory.CreateDirectory(dir);
            await File.AppendAllTextAsync(o.Out, line + "\n");
        }
        Console.WriteLine(human);
        Console.WriteLine(line);
        return 0;
    }

    /// <summary>Fails with one line when nothing answers at the address (the usual mistake: the server is not up yet).</summary>
    static async Task CheckServer(HttpClient http, LoadOptions o)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(o.Url, "v1/models"));
        }
        catch (HttpRequestException e)
        {
            throw new LoadGenException($"no server at {o.Url} ({TextRequestRunner.OneLine(e.Message)})");
        }
    }

    /// <summary>Short requests before measuring, so that loading the model and first-call costs stay out of the figures.</summary>
    static async Task Warmup(HttpClient http, LoadOptions o)
    {
        for (int i = 0; i < o.Warmup; i++)
        {
            string? error = o.Images
                ? (await new ImageRequestRunner(http, o with { ImagesPerRequest = 1 }).RunAsync(o.Seed + 999_999, CancellationToken.None)).Error
                : (await new TextRequestRunner(http, o).RunAsync(Prompts.Make(o.PromptWords, o.Seed, -1, i), o.Seed + 999_999, 4, CancellationToken.None)).Error;
            if (error is not null) throw new LoadGenException($"warm-up request failed: {error}");
        }
    }

    static async Task<string> Fetch(HttpClient http, Uri url, string option)
    {
        try
        {
            using var response = await http.GetAsync(url);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode) throw new LoadGenException($"{option} {url}: HTTP {(int)response.StatusCode} {TextRequestRunner.OneLine(text)}");
            return text;
        }
        catch (HttpRequestException e)
        {
            throw new LoadGenException($"{option} {url}: {TextRequestRunner.OneLine(e.Message)}");
        }
    }

    static async Task SampleRss(int pid, TimeSpan every, List<double> rss, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(every, stop);
                if (ServerProbe.RssMb(pid) is { } mb) lock (rss) rss.Add(mb);
            }
        }
        catch (OperationCanceledException) { }
    }
}

/// <summary>A problem with the server or the run (not the command line): one line, exit code 1.</summary>
sealed class LoadGenException(string message) : Exception(message);
