using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Distributed;
using GenSharp.Media;
using GenSharp.Runtime;

namespace GenSharp.Training;

/// <summary>
/// The one training loop. It knows nothing about any model family: it builds the optimizers the
/// <see cref="ITrainable"/> declares, runs each step through a <see cref="StepRunner"/> (zero-grad, backward,
/// clipping, learning-rate schedule, optimizer step), applies the NaN/Inf policy of <see cref="TrainOptions.NonFinite"/>,
/// keeps an optional EMA, logs metrics as JSON lines, writes sample grids and atomic checkpoints, and resumes exactly
/// where a checkpoint stopped.
/// </summary>
/// <remarks>
/// Run folder layout: <c>checkpoint/</c> (latest good checkpoint), <c>metrics.jsonl</c>,
/// <c>loss.png</c> (the family's <see cref="ITrainable.LossMetrics"/>), <c>metrics.png</c> (every other series:
/// lr, grad_norm, accuracy, D(x), ...), <c>samples/step-NNNNNNN.png</c>.
/// Resume is exact because (1) the batch for step k depends only on (seed, k), (2) libtorch's
/// RNG state is saved with the checkpoint and restored, and (3) optimiser state is saved whole.
/// <para>
/// Data-parallel (a <see cref="DataParallel"/>, one process per MPI rank): rank 0's weights are broadcast at the start
/// (and once more after the first step, which a data-dependent initialisation may have set per rank); every rank draws
/// the same global batch and trains on its own rows; each step's libtorch seed is
/// <see cref="DataParallel.SeedFor(long, long)"/>(seed, step), so ranks draw different noise yet a run repeats and resumes with
/// any number of ranks; the <see cref="StepRunner"/> averages losses, gradients and metrics; only rank 0 keeps the EMA
/// and writes checkpoints, metrics, plots, samples and validation; a stop request on any rank stops every rank at the
/// same step. What a family keeps in its module besides weights (batch-norm statistics, an EBM's replay buffer, an RBM's
/// persistent chains) evolves per rank; rank 0's is saved.
/// </para>
/// </remarks>
public sealed class Trainer
{
    readonly ITrainable _model;
    readonly IBatchSource _data;
    readonly TrainOptions _options;
    readonly string _outDir;
    readonly JsonObject _checkpointConfig;
    readonly Device _device;
    readonly TrainingProgress _progress;
    readonly Func<IReadOnlyDictionary<string, double>>? _validate;
    readonly IReadOnlyDictionary<string, string> _extraFiles;
    readonly DataParallel? _parallel;

    /// <param name="model">The family's trainable model, already on <paramref name="device"/>.</param>
    /// <param name="data">Batches in a seed-determined order.</param>
    /// <param name="options">Loop settings.</param>
    /// <param name="outDir">Run folder.</param>
    /// <param name="checkpointConfig">Written verbatim as the checkpoint's <c>config.json</c> (the family and its config).</param>
    /// <param name="device">Where batches go.</param>
    /// <param name="progress">Progress display; <see cref="TrainingProgress.Silent"/> by default.</param>
    /// <param name="validate">Held-out metrics (e.g. <c>val_loss</c>), run every <see cref="TrainOptions.ValidateEvery"/>
    /// steps and at the end with the RNG state saved and restored; logged to <c>metrics.jsonl</c>.</param>
    /// <param name="extraFiles">Files written into every checkpoint beside the weights (file name → text), e.g. a tokenizer.</param>
    /// <param name="parallel">Train data-parallel over MPI ranks (<see cref="TrainOptions.BatchSize"/> is the global batch); null for one process.</param>
    public Trainer(ITrainable model, IBatchSource data, TrainOptions options, string outDir,
                   JsonObject checkpointConfig, Device device, TrainingProgress? progress = null,
                   Func<IReadOnlyDictionary<string, double>>? validate = null,
                   IReadOnlyDictionary<string, string>? extraFiles = null, DataParallel? parallel = null)
    {
        options.Validate();
        parallel?.CheckBatchSize(options.BatchSize);
        _parallel = parallel;
        _model = model;
        _data = data;
        _options = options;
        _outDir = outDir;
        _checkpointConfig = checkpointConfig;
        _device = device;
        _progress = progress ?? TrainingProgress.Silent;
        _validate = validate;
        _extraFiles = extraFiles ?? new Dictionary<string, string>();
    }

    /// <summary>Total steps this run is asked for.</summary>
    public long TotalSteps => _options.Steps ?? (long)(_options.Epochs ?? 1) * _data.BatchesPerEpoch;

    /// <summary>The run's checkpoint folder.</summary>
    public string CheckpointDir => Path.Combine(_outDir, CheckpointFolder.RunSubfolder);

    string MetricsPath => Path.Combine(_outDir, "metrics.jsonl");

    /// <summary>This process writes the run folder: always, except on ranks other than 0 of a data-parallel run.</summary>
    bool Writer => _parallel?.IsWriter ?? true;

    /// <summary>
    /// Trains from step 0 (or from the run's checkpoint when <paramref name="resume"/>) to
    /// <see cref="TotalSteps"/>. Cancellation saves a checkpoint and returns with Interrupted set.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss became NaN/Inf; the last good checkpoint is untouched.</exception>
    public TrainResult Run(bool resume = false, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(_outDir);
        long total = TotalSteps;
        using var ema = _options.EmaDecay is { } decay && Writer ? new Ema(_model.Model, decay) : null;
        using var runner = new StepRunner(_model, _parallel);

        long start = 0;
        long skipped = 0;
        if (resume)
        {
            if (!Checkpoint.Exists(_outDir))
                throw new ParameterException("resume", $"finds no checkpoint in {_outDir}; start a new run without it");
            (start, skipped) = LoadTrainerState(Checkpoint.OpenFolder(_outDir), ema, runner);
            if (Writer) TruncateMetrics(start);
            if (start >= total)
                throw new ParameterException("steps", $"must be more than the {start} steps the checkpoint already has to resume it, got {total}");
        }
        else if (Checkpoint.Exists(_outDir))
        {
            throw new ParameterException("resume", $"is needed to continue the checkpoint {_outDir} already holds; or write the run to another folder");
        }
        else if (Writer && File.Exists(MetricsPath))
        {
            File.Delete(MetricsPath);
        }
        _parallel?.BroadcastModule(_model.Model);

        var title = _checkpointConfig["family"]?.GetValue<string>() ?? "train";
        var losses = new List<double>();
        var window = new Dictionary<string, double>();
        int windowCount = 0;
        IReadOnlyDictionary<string, double> lastMetrics = new Dictionary<string, double>();
        long lastGood = resume ? start : -1;
        var clock = Stopwatch.StartNew();
        long step = start;
        bool interrupted = false;
        int consecutiveSkips = 0;
        TrainingDivergedException Diverged(string problem) => new(
            $"{problem}; stopped without saving. " +
            (lastGood >= 0 ? $"Last good checkpoint: {CheckpointDir} (step {lastGood}); " : "No checkpoint was written yet; ") +
            "lower the learning rate or check the data");

        try
        {
            _progress.Run(title, start, total, reporter =>
            {
                var windowClock = Stopwatch.StartNew();
                var collector = new UnreachableTensorCollector();
                while (step < total)
                {
                    bool stop = cancel.IsCancellationRequested;
                    if (_parallel is not null) stop = _parallel.Any(stop);
                    if (stop) { interrupted = true; break; }
                    StepOutcome outcome;
                    using (var scope = torch.NewDisposeScope())
                    {
                        var (inputs, targets) = _data.GetBatch(step);
                        if (_parallel is not null)
                        {
                            (inputs, targets) = _parallel.Shard(inputs, targets);
                            TorchRuntime.Seed(_parallel.SeedFor(_options.Seed, step));
                        }
                        outcome = runner.Run(step, inputs.to(_device), targets.to(_device));
                    }
                    step++;
                    // A data-dependent initialisation (ActNorm) ran on each rank's own rows: make rank 0's the weights of all.
                    if (_parallel is not null && step == start + 1) _parallel.BroadcastModule(_model.Model);
                    collector.AfterStep();
                    var metrics = outcome.Metrics;
                    if (outcome.Problem is { } problem)
                    {
                        // An update already applied cannot be skipped; otherwise the policy decides.
                        if (outcome.Applied || _options.NonFinite == NonFinitePolicy.Stop) throw Diverged(problem);
                        skipped++;
                        if (++consecutiveSkips >= _options.MaxConsecutiveSkips)
                            throw Diverged($"{consecutiveSkips} steps in a row were skipped (the last: {problem})");
                        reporter.Log($"skipped step {step}: {problem}");
                    }
                    else
                    {
                        consecutiveSkips = 0;
                        foreach (var (k, v) in metrics) window[k] = window.GetValueOrDefault(k) + v;
                        windowCount++;
                        if (metrics.Count > 0) losses.Add(metrics.Values.First());
                        ema?.Update(step);
                    }

                    double itPerSec = (step - start) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    reporter.Report(step, Status(title, step, total, metrics, itPerSec));

                    if (Writer && (step % _options.LogEvery == 0 || step == total))
                    {
                        var mean = window.ToDictionary(kv => kv.Key, kv => kv.Value / windowCount);
                        if (_options.NonFinite == NonFinitePolicy.Skip) mean[SkippedStepsMetric] = skipped;
                        AppendMetrics(step, mean, windowCount / Math.Max(1e-9, windowClock.Elapsed.TotalSeconds));
                        lastMetrics = mean;
                        window.Clear();
                        windowCount = 0;
                        windowClock.Restart();
                    }
                    if (_validate is not null && Writer && (step == total || (_options.ValidateEvery > 0 && step % _options.ValidateEvery == 0)))
                    {
                        var val = Validate();
                        AppendMetrics(step, val, null);
                        var merged = new Dictionary<string, double>(lastMetrics);
                        foreach (var (k, v) in val) merged[k] = v;
                        lastMetrics = merged;
                        reporter.Log($"validation: step {step} · " + string.Join(" · ", val.Select(kv => $"{kv.Key} {kv.Value.ToString("G5", CultureInfo.InvariantCulture)}")));
                    }
                    if (Writer && _options.SampleEvery > 0 && step % _options.SampleEvery == 0 && step != total)
                        WriteSamples(step, ema, reporter);
                    if (_options.CheckpointEvery > 0 && step % _options.CheckpointEvery == 0 && step != total)
                    {
                        if (Writer) SaveCheckpoint(step, ema, runner, skipped);
                        lastGood = step;
                        reporter.Log($"checkpoint: step {step} → {CheckpointDir}");
                    }
                }
                return 0;
            });
        }
        catch (DistributedException e)
        {
            throw new DistributedException($"{e.Message}; training stopped at step {step}. " +
                (lastGood >= 0 ? $"Last checkpoint: {CheckpointDir} (step {lastGood}), intact; resume the run to continue (with any number of ranks)"
                               : "No checkpoint was written yet"));
        }

        double seconds = clock.Elapsed.TotalSeconds;
        if (Writer && (step > start || !resume))
        {
            SaveCheckpoint(step, ema, runner, skipped);
        }
        if (Writer && !interrupted)
        {
            WriteSamples(step, ema, null);
            WritePlots();
        }
        double ips = (step - start) * (double)_options.BatchSize / Math.Max(1e-9, seconds);
        return new TrainResult(step, total, interrupted, CheckpointDir, lastMetrics, seconds, ips, losses);
    }

    static string Status(string title, long step, long total, IReadOnlyDictionary<string, double> metrics, double itPerSec)
    {
        var parts = metrics.Take(4).Select(kv => $"{kv.Key} {kv.Value.ToString("G4", CultureInfo.InvariantCulture)}");
        var eta = itPerSec > 0 ? TimeSpan.FromSeconds((total - step) / itPerSec) : TimeSpan.Zero;
        return $"{title} {step}/{total} · {string.Join(" · ", parts)} · {itPerSec:F1} it/s · ETA {eta:hh\\:mm\\:ss}";
    }

    void AppendMetrics(long step, IReadOnlyDictionary<string, double> mean, double? itPerSec)
    {
        var line = new JsonObject { ["step"] = step };
        foreach (var (k, v) in mean) line[k] = v;
        if (itPerSec is { } ips) line["it_per_s"] = Math.Round(ips, 3);
        line["rss_mb"] = Math.Round(Environment.WorkingSet / (1024.0 * 1024.0), 1);
        line["time"] = DateTime.UtcNow.ToString("O");
        File.AppendAllText(MetricsPath, line.ToJsonString() + "\n");
    }

    void TruncateMetrics(long step)
    {
        if (!File.Exists(MetricsPath)) return;
        var kept = File.ReadAllLines(MetricsPath).Where(l =>
        {
            try { return JsonNode.Parse(l)?["step"]?.GetValue<long>() <= step; }
            catch (JsonException) { return false; }
        });
        AtomicFile.WriteAllText(MetricsPath, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>Runs the validation callback without disturbing the training RNG stream (resume stays exact).</summary>
    IReadOnlyDictionary<string, double> Validate()
    {
        using var rng = torch.get_rng_state();
        try
        {
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            var val = _validate!();
            foreach (var (k, v) in val)
                if (!double.IsFinite(v)) throw new TrainingDivergedException($"{k} became {v}; stopped without saving; lower the learning rate or check the data");
            return val;
        }
        finally
        {
            torch.set_rng_state(rng);
        }
    }

    void WriteSamples(long step, Ema? ema, IProgressReporter? reporter)
    {
        var path = Path.Combine(_outDir, "samples", $"step-{step:D7}.png");
        // Sampling must not disturb the training RNG stream, or resume would diverge from an
        // uninterrupted run: save the state, sample from a fixed seed, restore.
        using var rng = torch.get_rng_state();
        try
        {
            torch.manual_seed(_options.Seed + 1_000_003);
            using var _ = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            using var swap = ema is null ? null : new WeightSwap(_model.Model, ema.Shadow);
            var grid = SampleGrid.Draw(_model, _options.SampleCount);
            if (grid is null) return;
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            ImageGrid.SavePng(grid.Value.Images, path, grid.Value.Columns, padding: 2, scale: 2);
            reporter?.Log($"samples: {path}");
        }
        finally
        {
            torch.set_rng_state(rng);
        }
    }

    /// <summary><c>loss.png</c> with the loss series, <c>metrics.png</c> with the others (each only when it has a series).</summary>
    void WritePlots()
    {
        if (!File.Exists(MetricsPath)) return;
        var (lossSeries, otherSeries) = SplitSeries(File.ReadLines(MetricsPath), _model.LossMetrics);
        var family = _checkpointConfig["family"];
        if (lossSeries.Count > 0)
            LinePlot.Save(Path.Combine(_outDir, LossPlotFile), $"{family} training losses", lossSeries, yLabel: "loss");
        if (otherSeries.Count > 0)
            LinePlot.Save(Path.Combine(_outDir, MetricsPlotFile), $"{family} training metrics (not losses)", otherSeries, yLabel: "value");
    }

    /// <summary>Name of the plot of the loss metrics in the run folder.</summary>
    public const string LossPlotFile = "loss.png";
    /// <summary>Name of the plot of the other metrics in the run folder.</summary>
    public const string MetricsPlotFile = "metrics.png";
    /// <summary>The metrics.jsonl key counting the steps skipped so far under <see cref="NonFinitePolicy.Skip"/>.</summary>
    public const string SkippedStepsMetric = "skipped_steps";

    /// <summary>
    /// Splits the series of a metrics.jsonl into losses (a name in <paramref name="lossNames"/>, or <c>val_</c> + one)
    /// and the rest; bookkeeping keys (step, it_per_s, rss_mb, time) are no series.
    /// </summary>
    internal static (List<PlotSeries> Losses, List<PlotSeries> Others) SplitSeries(IEnumerable<string> jsonLines, IReadOnlyCollection<string> lossNames)
    {
        var series = new Dictionary<string, (List<double> X, List<double> Y)>();
        foreach (var l in jsonLines)
        {
            var o = JsonNode.Parse(l)!.AsObject();
            double x = o["step"]!.GetValue<double>();
            foreach (var (k, v) in o)
            {
                if (k is "step" or "it_per_s" or "rss_mb" or "time" || v is null) continue;
                if (!series.TryGetValue(k, out var s)) series[k] = s = (new(), new());
                s.X.Add(x);
                s.Y.Add(v.GetValue<double>());
            }
        }
        bool IsLoss(string name) => lossNames.Contains(name) || (name.StartsWith("val_", StringComparison.Ordinal) && lossNames.Contains(name[4..]));
        var all = series.Select(kv => new PlotSeries(kv.Key, kv.Value.X, kv.Value.Y)).ToList();
        return (all.Where(p => IsLoss(p.Name)).ToList(), all.Where(p => !IsLoss(p.Name)).ToList());
    }

    void SaveCheckpoint(long step, Ema? ema, StepRunner runner, long skipped)
    {
        // Never overwrite a good checkpoint with a diverged one.
        using (torch.no_grad())
        {
            foreach (var (name, p) in _model.Model.named_parameters())
                if (!torch.isfinite(p).all().item<bool>())
                    throw new TrainingDivergedException($"parameter {name} is not finite at step {step}; checkpoint not written, {CheckpointDir} keeps the last good one");
        }
        var manifest = (JsonObject)_checkpointConfig.DeepClone();
        manifest["step"] = step;
        using var rng = torch.get_rng_state();
        var state = new TrainerState(step, _options.Seed, _options.BatchSize, TotalSteps, _options.EmaDecay, runner.Optimizers.Count,
            skipped, rng.data<byte>().ToArray());
        Checkpoint.Save(CheckpointDir, manifest, ModuleState.Collect(_model.Model), ema?.Shadow, state, runner.SaveState, _extraFiles);
    }

    /// <summary>Restores weights, EMA, optimizer state and RNG; returns the step and the steps skipped so far.</summary>
    (long Step, long Skipped) LoadTrainerState(Checkpoint checkpoint, Ema? ema, StepRunner runner)
    {
        var state = checkpoint.ReadTrainerState()
            ?? throw new GenSharpException($"{checkpoint.Path} has no {CheckpointFolder.TrainerStateFile}; it cannot be resumed (it was exported without trainer state)");
        if (state.Seed != _options.Seed)
            throw new ParameterException("seed", $"must be {state.Seed} to continue the checkpoint exactly (it was trained with seed {state.Seed}, batch size {state.BatchSize}); got {_options.Seed}");
        if (state.BatchSize != _options.BatchSize)
            throw new ParameterException("batch_size", $"must be {state.BatchSize} to continue the checkpoint exactly (it was trained with seed {state.Seed}, batch size {state.BatchSize}); got {_options.BatchSize}");

        checkpoint.LoadWeights(_model.Model, _model.ObsoleteTensorNames, preferEma: false);
        if (ema is not null)
        {
            using var e = checkpoint.OpenEmaWeights("ema_decay");
            ema.Load(e.Tensors);
        }
        using (var fs = checkpoint.OpenOptimizerState())
        using (var r = new BinaryReader(fs))
            runner.LoadState(r, checkpoint.Path);
        using (var t = torch.tensor(state.RngState, dtype: ScalarType.Byte)) torch.set_rng_state(t);
        runner.StepsDone = state.Step;
        return (state.Step, state.SkippedSteps);
    }
}
