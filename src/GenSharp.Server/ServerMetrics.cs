using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace GenSharp.Server;

/// <summary>
/// The server's counters, gauges and histograms, rendered in Prometheus' text exposition format (version 0.0.4) by
/// <c>GET /metrics</c>. Thread-safe; gauges are read when rendered.
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>Upper bounds (seconds) of the latency histograms' buckets.</summary>
    static readonly double[] LatencyBuckets = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30 };

    readonly ConcurrentDictionary<(string Route, int Status), long> _requests = new();
    long _promptTokens, _completionTokens, _images;
    readonly Histogram _timeToFirstToken = new(LatencyBuckets), _interToken = new(LatencyBuckets);
    readonly Func<(long Queued, long Running)> _load;
    readonly Func<int> _modelsLoaded;
    readonly Func<long> _modelsLoadedBytes;
    readonly long _memoryBudget;
    readonly Func<bool> _draining;
    readonly Func<(long Rows, long Waiting)> _batch;
    long _decodeSteps, _decodedRows;

    internal ServerMetrics(Func<(long Queued, long Running)> load, Func<int> modelsLoaded, Func<long> modelsLoadedBytes, long memoryBudget, Func<bool> draining,
        Func<(long Rows, long Waiting)> batch)
    {
        _load = load;
        _modelsLoaded = modelsLoaded;
        _modelsLoadedBytes = modelsLoadedBytes;
        _memoryBudget = memoryBudget;
        _draining = draining;
        _batch = batch;
    }

    internal void Request(string route, int status) => _requests.AddOrUpdate((route, status), 1, (_, c) => c + 1);
    internal void Tokens(int prompt, int completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }
    /// <summary>A text model's batch fed <paramref name="rows"/> sequences one token each.</summary>
    internal void DecodeStep(int rows)
    {
        Interlocked.Increment(ref _decodeSteps);
        Interlocked.Add(ref _decodedRows, rows);
    }
    internal void Images(int n) => Interlocked.Add(ref _images, n);
    internal void TimeToFirstToken(TimeSpan t) => _timeToFirstToken.Observe(t.TotalSeconds);
    internal void InterTokenLatency(TimeSpan t) => _interToken.Observe(t.TotalSeconds);

    /// <summary>All metrics in Prometheus text format.</summary>
    public string Render()
    {
        var s = new StringBuilder();
        Header(s, "gensharp_requests_total", "counter", "HTTP requests answered, by route and status code.");
        foreach (var ((route, status), count) in _requests.OrderBy(kv => kv.Key.Route, StringComparer.Ordinal).ThenBy(kv => kv.Key.Status))
            s.Append("gensharp_requests_total{route=\"").Append(Escape(route)).Append("\",status=\"").Append(status).Append("\"} ").Append(count).Append('\n');
        Single(s, "gensharp_prompt_tokens_total", "counter", "Prompt tokens read (each distinct prompt once).", Interlocked.Read(ref _promptTokens));
        Single(s, "gensharp_completion_tokens_total", "counter", "Tokens generated.", Interlocked.Read(ref _completionTokens));
        Single(s, "gensharp_images_generated_total", "counter", "Images generated.", Interlocked.Read(ref _images));
        _timeToFirstToken.Render(s, "gensharp_time_to_first_token_seconds", "From the request's arrival to its first generated token.");
        _interToken.Render(s, "gensharp_inter_token_latency_seconds", "Between consecutive generated tokens of a request.");
        var (queued, running) = _load();
        Single(s, "gensharp_queue_depth", "gauge", "Requests waiting for a slot under the concurrency limit.", queued);
        Single(s, "gensharp_running_requests", "gauge", "Requests holding a slot under the concurrency limit.", running);
        var (rows, waiting) = _batch();
        Single(s, "gensharp_decode_steps_total", "counter", "Decode steps of the text models' batches (each feeds every running sequence one token).", Interlocked.Read(ref _decodeSteps));
        Single(s, "gensharp_decoded_rows_total", "counter", "Sequence-tokens fed by those steps; divided by the steps, the mean batch size.", Interlocked.Read(ref _decodedRows));
        Single(s, "gensharp_batch_size", "gauge", "Sequences in the running batches of the text models (continuous batching).", rows);
        Single(s, "gensharp_batch_waiting", "gauge", "Sequences admitted by the concurrency limit, waiting for a row of their model's batch.", waiting);
        Single(s, "gensharp_models_loaded", "gauge", "Models loaded in memory.", _modelsLoaded());
        Single(s, "gensharp_models_loaded_bytes", "gauge", "Bytes the loaded models are counted as: weights, plus a KV cache allowance for text models.", _modelsLoadedBytes());
        Single(s, "gensharp_memory_budget_bytes", "gauge", "The budget the loaded models' bytes are kept under (--memory-budget).", _memoryBudget);
        Single(s, "gensharp_draining", "gauge", "1 while the server is stopping: running requests finish, new ones get 503.", _draining() ? 1 : 0);
        return s.ToString();
    }

    static void Header(StringBuilder s, string name, string type, string help) =>
        s.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    static void Single(StringBuilder s, string name, string type, string help, long value)
    {
        Header(s, name, type, help);
        s.Append(name).Append(' ').Append(value).Append('\n');
    }

    static string Escape(string label) => label.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    static string Number(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A cumulative histogram: counts per upper bound, sum and count.</summary>
    sealed class Histogram(double[] bounds)
    {
        readonly long[] _counts = new long[bounds.Length + 1];   // the last one is +Inf
        readonly object _sync = new();
        double _sum;

        public void Observe(double x)
        {
            int i = 0;
            while (i < bounds.Length && x > bounds[i]) i++;
            lock (_sync)
            {
                _counts[i]++;
                _sum += x;
            }
        }

        public void Render(StringBuilder s, string name, string help)
        {
            long[] counts;
            double sum;
            lock (_sync) { counts = (long[])_counts.Clone(); sum = _sum; }
            Header(s, name, "histogram", help);
            long cumulative = 0;
            for (int i = 0; i <= bounds.Length; i++)
            {
                cumulative += counts[i];
                string le = i < bounds.Length ? Number(bounds[i]) : "+Inf";
                s.Append(name).Append("_bucket{le=\"").Append(le).Append("\"} ").Append(cumulative).Append('\n');
            }
            s.Append(name).Append("_sum ").Append(Number(sum)).Append('\n');
            s.Append(name).Append("_count ").Append(cumulative).Append('\n');
        }
    }
}
