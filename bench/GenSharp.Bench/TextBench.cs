// Text families (gpt): training ms/iteration + validation loss (mirrored by bench/pytorch/gpt.py), and
// decoding speed with and without the KV cache.
//
//   GenSharp.Bench gpt [--steps 2000] [--warmup 10] [--batch-size 12] [--threads 2] [--data data/tinyshakespeare.txt] [--seed S] [--set key=value ...]
//   GenSharp.Bench gpt --mode decode [--set block_size=1024] [--steps 128]     tokens/s at contexts 64/256/1024 (≤ block_size)
//   GenSharp.Bench FOLDER --mode decode [--steps 128]     the same for a text checkpoint or a Hugging Face model folder
//   GenSharp.Bench FOLDER --mode speed [--steps 64]       greedy decode tokens/s at depths 64/512/2048 (≤ context; DEPTHS=64,512 for others) and prefill of 960 tokens
//                                                          (llama-bench's tg at -d DEPTH and pp960), as one JSON line
//   GenSharp.Bench FOLDER --mode parts [--steps 60]       one decoding step (DEPTH=64 cached tokens) beside reading every weight matrix
//                                                          once as W·x and as a sum; SHAPES=1 adds W·x variants per matrix shape
using System.Diagnostics;
using System.Text.Json;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;

static class TextBench
{
    public static int Run(ITextFamily family, string mode, List<string> sets, int batch, int steps, int warmup, int threads, string? dataPath, int seed = 0)
    {
        var path = dataPath ?? FindData();
        var text = TextCorpus.ReadText(path);
        var json = ConfigJson.ToJson(family.DefaultConfig);
        ConfigJson.ApplyOverrides(json, family.DefaultConfig.GetType(), sets);
        var config = family.ReadConfig(json);
        var tokenizer = family.CreateTokenizer(config, text);
        var corpus = TextCorpus.FromText(path, text, tokenizer);
        config = family.ForTraining(config, tokenizer, steps);
        TorchRuntime.Seed(seed);
        using var model = family.Build(config, torch.CPU);
        var lm = (ILanguageModel)model;
        long parameters = model.Model.parameters().Sum(p => p.numel());
        Console.WriteLine($"GenSharp {TorchRuntime.GenSharpVersion}, TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchRuntime.LibTorchVersion}");
        Console.WriteLine($"model={family.Name} mode={mode} params={parameters} batch={batch} threads={torch.get_num_threads()} vocab={tokenizer.VocabSize} " +
                          $"context={lm.ContextLength} data={path} ({corpus.TrainTokens.Count} train / {corpus.ValidationTokens.Count} val tokens)");
        return mode switch
        {
            "train" => Train(model, lm, corpus, batch, steps, warmup, threads, parameters, seed),
            "decode" => Decode(lm, tokenizer, corpus, Math.Max(1, steps), threads),
            _ => Fail($"--mode for text families is train or decode, got {mode}"),
        };
    }

    static int Fail(string message) { Console.Error.WriteLine(message); return 2; }

    static string FindData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "data", "tinyshakespeare.txt");
            if (File.Exists(candidate)) return candidate;
        }
        throw new GenSharp.GenSharpException("data/tinyshakespeare.txt not found above the bench binary; pass --data FILE.txt");
    }

    static int Train(IGenerativeModel model, ILanguageModel lm, TextCorpus corpus, int batch, int steps, int warmup, int threads, long parameters, int seed)
    {
        var batches = new TextBatches(corpus.TrainTokens, batch, lm.ContextLength, seed: seed);
        var validation = new TextBatches(corpus.ValidationTokens, batch, lm.ContextLength, seed: 0);
        var text = (ITextFamily)FamilyRegistry.Get(model.Family);
        int validationEvery = text.ValidationEvery(model.Config), validationBatches = text.ValidationBatches(model.Config);
        double ValLoss()
        {
            double sum = 0;
            foreach (var (x, y) in validation.FixedBatches(validationBatches)) { using (x) using (y) sum += lm.Loss(x, y); }
            return sum / validationBatches;
        }
        using var runner = new GenSharp.Training.StepRunner(model.Trainable());
        var evals = new List<Dictionary<string, double>>();
        var sw = new Stopwatch();
        double last = double.NaN;
        var collector = new UnreachableTensorCollector();
        for (int s = 0; s < steps; s++)
        {
            if (s == warmup) sw.Start();
            using (var scope = torch.NewDisposeScope())
            {
                var (x, y) = batches.GetBatch(s);
                last = runner.Step(x, y)["loss"];
            }
            int done = s + 1;
            collector.AfterStep();
            if (done % validationEvery == 0 || done == steps)
            {
                sw.Stop();                                                    // validation is not timed
                double v = ValLoss();
                evals.Add(new() { ["step"] = done, ["val_loss"] = Math.Round(v, 4) });
                Console.WriteLine($"step {done}: train loss {last:F4}, val loss {v:F4}");
                if (done > warmup) sw.Start();
            }
        }
        sw.Stop();
        // The whole validation split in disjoint windows (as `gensharp eval` scores it): no sampling noise.
        double fullSum = 0; long fullTokens = 0;
        foreach (var (x, y) in TextBatches.Sequential(corpus.ValidationTokens, lm.ContextLength, 64))
            using (x) using (y) { fullSum += lm.Loss(x, y) * y.numel(); fullTokens += y.numel(); }
        double full = fullSum / fullTokens;
        Console.WriteLine($"val loss over the whole validation split ({fullTokens} tokens): {full:F4}");
        int timed = Math.Max(1, steps - warmup);
        double ms = sw.Elapsed.TotalMilliseconds / timed;
        Console.WriteLine($"{timed} timed steps: {ms:F2} ms/iteration");
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["impl"] = "gensharp", ["model"] = model.Family, ["params"] = parameters, ["batch"] = batch, ["threads"] = threads,
            ["steps"] = steps, ["ms_per_iter"] = Math.Round(ms, 3), ["last_loss"] = Math.Round(last, 4),
            ["val_loss"] = evals.Count > 0 ? evals[^1]["val_loss"] : null, ["evals"] = evals, ["seed"] = seed,
            ["val_loss_full"] = Math.Round(full, 4),
            ["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0), 1),
            ["versions"] = $"TorchSharp {TorchRuntime.TorchSharpVersion} / libtorch {TorchRuntime.LibTorchVersion}",
        }));
        return 0;
    }

    /// <summary>Decoding speed of a saved text model: a GenSharp checkpoint or a Hugging Face folder (random or real weights).</summary>
    public static int DecodeFolder(string path, string mode, int newTokens, int threads, string? dataPath)
    {
        if (mode is not ("decode" or "speed" or "parts")) return Fail($"--mode for a model folder is decode, speed or parts, got {mode}");
        var data = dataPath ?? FindData();
        using var loaded = GenSharp.Checkpoints.Checkpoint.LoadTextModel(path, torch.CPU);
        var text = TextCorpus.ReadText(data);
        var corpus = TextCorpus.FromText(data, text[..Math.Min(text.Length, 200_000)], loaded.Tokenizer);
        long parameters = loaded.Owner is IGenerativeModel g ? g.Model.parameters().Sum(p => p.numel())
            : loaded.Model is GenSharp.Models.Pretrained.PretrainedLanguageModel pm ? pm.ParameterCount : -1;
        Console.WriteLine($"GenSharp {TorchRuntime.GenSharpVersion}, TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchRuntime.LibTorchVersion}");
        Console.WriteLine($"model={loaded.Name} ({path}) params={parameters} threads={torch.get_num_threads()} vocab={loaded.Tokenizer.VocabSize} context={loaded.Model.ContextLength}");
        if (mode == "parts") return Parts(loaded.Model, Math.Max(1, newTokens));
        return mode == "speed"
            ? Speed(loaded.Model, loaded.Tokenizer, corpus, Math.Max(2, newTokens), threads, path)
            : Decode(loaded.Model, loaded.Tokenizer, corpus, Math.Max(1, newTokens), threads);
    }

    /// <summary>
    /// Greedy decoding speed after a prompt of D tokens (the depth: what the cache holds when decoding starts), for D = 64, 512
    /// and 2048 where the context allows, and prefill speed of a 960-token prompt: what llama-bench reports as tg at -d D and pp960.
    /// Each figure is the best of three runs (the machine's noise only ever slows a run down).
    /// </summary>
    static int Speed(ILanguageModel lm, ITokenizer tokenizer, TextCorpus corpus, int newTokens, int threads, string path)
    {
        var gen = new TextGenerator(lm, tokenizer);
        int bos = tokenizer.AddBosToken && tokenizer.BosTokenId is not null ? 1 : 0;
        string Prompt(int tokens) => tokenizer.Decode(corpus.TrainTokens.Take(tokens - bos));
        var results = new Dictionary<string, object?>();
        gen.Generate(new[] { Prompt(64) }, new GenerationOptions { MaxNewTokens = 4, Temperature = 0, IgnoreEos = true });   // warm-up
        foreach (int depth in (Environment.GetEnvironmentVariable("DEPTHS") ?? "64,512,2048").Split(",").Select(int.Parse).Where(d => d + newTokens <= lm.ContextLength))
        {
            var prompt = Prompt(depth);
            double best = 0;
            for (int rep = 0; rep < 3; rep++)
            {
                var o = new GenerationOptions { MaxNewTokens = newTokens, Temperature = 0, IgnoreEos = true };
                var result = new GenerationResult[1];
                var sw = Stopwatch.StartNew();
                double? first = null;
                foreach (var _ in gen.Run(new[] { prompt }, o, result)) first ??= sw.Elapsed.TotalSeconds;
                // tokens after the first (whose time is the prompt's prefill)
                best = Math.Max(best, (result[0].GeneratedTokens - 1) / (sw.Elapsed.TotalSeconds - (first ?? 0)));
            }
            results[$"tg_d{depth}"] = Math.Round(best, 2);
            Console.WriteLine($"decode at depth {depth}: {best:F2} tokens/s");
        }
        if (lm.ContextLength > 961)
        {
            var prompt = Prompt(960);
            double best = 0;
            for (int rep = 0; rep < 3; rep++)
            {
                var sw = Stopwatch.StartNew();
                gen.Generate(new[] { prompt }, new GenerationOptions { MaxNewTokens = 1, Temperature = 0, IgnoreEos = true });
                best = Math.Max(best, 960 / sw.Elapsed.TotalSeconds);
            }
            results["pp960"] = Math.Round(best, 1);
            Console.WriteLine($"prefill of 960 tokens: {best:F1} tokens/s");
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["impl"] = "gensharp", ["mode"] = "speed", ["model"] = path, ["threads"] = threads, ["new_tokens"] = newTokens, ["results"] = results,
            ["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0), 1),
            ["versions"] = $"TorchSharp {TorchRuntime.TorchSharpVersion} / libtorch {TorchRuntime.LibTorchVersion}",
        }));
        return 0;
    }

    /// <summary>
    /// Where a decode step's time goes: the full one-token step (logits with the cache, at depth 64) against reading every
    /// weight matrix once as the step does (W·x for each 2-D weight, the few-row product), and a plain sum of the weights.
    /// </summary>
    static int Parts(ILanguageModel lm, int steps)
    {
        var net = ((GenSharp.Models.Pretrained.PretrainedLanguageModel)lm).Network;
        var weights = net.parameters().Where(p => p.dim() == 2 && p.numel() > 0).ToList();
        long bytes = weights.Sum(w => w.numel() * 4);
        Console.WriteLine($"{weights.Count} matrices, {bytes / 1e6:F0} MB");
        double Time(Action step)
        {
            for (int i = 0; i < 5; i++) using (torch.NewDisposeScope()) step();
            double best = double.MaxValue;
            for (int rep = 0; rep < 3; rep++)
            {
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++) using (torch.NewDisposeScope()) step();
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds / steps);
            }
            return best;
        }
        using var noGrad = torch.no_grad();
        var xs = weights.Select(w => torch.randn(1, w.shape[1]).DetachFromDisposeScope()).ToList();
        double gemv = Time(() => { for (int i = 0; i < weights.Count; i++) weights[i].mm(xs[i].t()); });
        double sum = Time(() => { foreach (var w in weights) w.sum(); });
        foreach (var group in weights.GroupBy(w => (w.shape[0], w.shape[1])).Where(_ => Environment.GetEnvironmentVariable("SHAPES") == "1"))
        {
            var ws = group.ToList();
            long n = ws[0].shape[0], k = ws[0].shape[1];
            using var x = torch.randn(1, k);
            using var xt = x.t();
            using var x1 = x.view(k);
            int reps = (int)Math.Max(3, 400_000_000 / (n * k * 4 * ws.Count));
            // every matrix of the shape in turn (as a decode step reads them: from memory, not from cache)
            double T(Func<torch.Tensor, torch.Tensor> f)
            {
                double best = double.MaxValue;
                for (int r = 0; r < 3; r++)
                {
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < reps; i++) foreach (var w in ws) using (torch.NewDisposeScope()) f(w);
                    best = Math.Min(best, sw.Elapsed.TotalMilliseconds * 1000 / reps / ws.Count);
                }
                return best;
            }
            double gb(double us) => n * k * 4 / us / 1000;
            var row = new List<string>();
            foreach (var (name, f) in new (string, Func<torch.Tensor, torch.Tensor>)[]
            {
                ("W·xT", w => w.mm(xt)), ("mv", w => w.mv(x1)), ("x·WT", w => x.mm(w.t())), ("linear", w => torch.nn.functional.linear(x, w)),
                ("sum", w => w.sum()),
            })
            {
                double us = T(f);
                row.Add($"{name} {us:F1} us ({gb(us):F1} GB/s)");
            }
            Console.WriteLine($"{n}x{k} x{ws.Count}: " + string.Join(", ", row));
        }
        using var cache = lm.CreateCache();
        int depth = int.Parse(Environment.GetEnvironmentVariable("DEPTH") ?? "64");
        using (var prompt = torch.randint(0, lm.VocabSize, new long[] { 1, depth })) lm.Logits(prompt, cache, lastOnly: true).Dispose();
        using var token = torch.tensor(new long[] { 42 }).view(1, 1);
        double step = Time(() => { lm.Logits(token, cache, lastOnly: true).argmax(-1); cache.Truncate(depth); });
        Console.WriteLine($"decode step {step:F2} ms ({1000 / step:F1} tok/s); W·x over every matrix {gemv:F2} ms ({bytes / gemv / 1e6:F1} GB/s); sum of every matrix {sum:F2} ms ({bytes / sum / 1e6:F1} GB/s)");
        return 0;
    }

    /// <summary>Generates <paramref name="newTokens"/> tokens after a prompt that fills the context up to them, cached and not.</summary>
    static int Decode(ILanguageModel lm, ITokenizer tokenizer, TextCorpus corpus, int newTokens, int threads)
    {
        var results = new List<Dictionary<string, object?>>();
        foreach (int context in new[] { 64, 256, 1024 }.Where(c => c <= lm.ContextLength))
        {
            int n = Math.Min(newTokens, context / 2);
            int bos = tokenizer.AddBosToken && tokenizer.BosTokenId is not null ? 1 : 0;
            var prompt = tokenizer.Decode(corpus.TrainTokens.Take(context - n - bos));
            var gen = new TextGenerator(lm, tokenizer);
            var row = new Dictionary<string, object?> { ["context"] = context, ["new_tokens"] = n };
            foreach (bool cache in new[] { true, false })
            {
                var o = new GenerationOptions { MaxNewTokens = n, Temperature = 0, UseCache = cache, IgnoreEos = true };
                gen.Generate(new[] { prompt }, o with { MaxNewTokens = 2 });      // warm-up
                var sw = Stopwatch.StartNew();
                double? first = null;
                var result = new GenerationResult[1];
                foreach (var _ in gen.Run(new[] { prompt }, o, result)) first ??= sw.Elapsed.TotalMilliseconds;
                // Decoding speed after the first token (the prompt's prefill is the time to first token).
                double tps = (result[0].GeneratedTokens - 1) / (sw.Elapsed.TotalSeconds - (first ?? 0) / 1000);
                row["prompt_tokens"] = result[0].PromptTokens;
                row[cache ? "tokens_per_s_cache" : "tokens_per_s_no_cache"] = Math.Round(tps, 1);
                row[cache ? "first_token_ms_cache" : "first_token_ms_no_cache"] = first is { } f ? Math.Round(f, 1) : null;
            }
            row["speedup"] = Math.Round((double)row["tokens_per_s_cache"]! / (double)row["tokens_per_s_no_cache"]!, 2);
            Console.WriteLine(string.Join(", ", row.Select(kv => $"{kv.Key} {kv.Value}")));
            results.Add(row);
        }
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["impl"] = "gensharp", ["mode"] = "decode", ["threads"] = threads, ["results"] = results,
            ["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0), 1),
        }));
        return 0;
    }
}
