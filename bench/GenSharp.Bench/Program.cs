// Training-throughput and memory benchmark for GenSharp's own VAE and DCGAN.
// Mirrored step for step by bench/pytorch/bench.py; bench/run.sh runs both side by side.
//
//   dotnet run -c Release --project bench/GenSharp.Bench -- FAMILY [--steps N] [--warmup W] [--data FILE.txt]
//       [--batch-size B] [--threads T] [--conditional] [--mode train|forward|opcost|convcost|phases] [--set key=value ...]
//
// FAMILY is any registered family (vae, dcgan, pixelcnn, realnvp, glow, rbm, ...); families other than
// vae/dcgan are built from their default config plus --set overrides, exactly as `gensharp train`
// builds them, and are mirrored by bench/pytorch/<family>.py.
//
// --mode convcost times conv2d forward+backward alone for Glow's few-channel 3×3 shapes (batch 64, 14×14).
// --mode phases (glow) times forward, backward, gradient clipping and the optimizer step apart.
// --mode lora|full on a text model folder: trainable parameters, peak memory and ms/step of LoRA vs full fine-tuning (LoraBench.cs).
// --mode wnops times WaveNet's operations alone, forward + backward (bench/pytorch/wavenet.py --ops the same in PyTorch).
// --mode export (wavenet, videodiffusion) --data DIR writes weights, a batch and GenSharp's loss for bench/pytorch/<family>.py --check DIR.
// --mode forward times only the forward pass + loss (no backward, no optimizer) under no_grad,
// to separate per-op/interop overhead from kernel speed when comparing with PyTorch.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GenSharp;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Gan;
using GenSharp.Models.Vae;
using GenSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

static class Program
{
    static int Main(string[] args)
    {
        try { return Run(args); }
        catch (GenSharpException e)                     // bad input: one line, as the CLI says it
        {
            Console.Error.WriteLine($"GenSharp.Bench: {e.Message}");
            return 2;
        }
    }

    static int Run(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            Console.Error.WriteLine("usage: GenSharp.Bench FAMILY [--steps N] [--warmup W] [--batch-size B] [--threads T] [--conditional] [--mode train|forward|opcost|convcost|phases] [--set key=value ...]");
            return 2;
        }
        string modelName = args[0];
        if (modelName == "minilm") return EmbedBench.Run(args);   // sentence embeddings vs ONNX Runtime (EmbedBench.cs)
        if (modelName == "rag-index") return RagIndexBench.Run(args);   // exact vs HNSW vector search in the RAG store (RagIndexBench.cs)
        if (modelName == "allreduce") return AllreduceBench.Run(args);   // MPI all-reduce latency and bandwidth, under mpirun (AllreduceBench.cs)
        if (modelName == "sd-folder") return SdFolderBench.Run(args);   // a random SD-1.5-shaped diffusers folder for timing `gensharp sample DIR` (SdFolderBench.cs)
        if (modelName == "onednn") return OneDnnBench.Run(args);   // which oneDNN convolution passes agree with the native path here (OneDnnBench.cs)
        int steps = 300, warmup = 20, threads = 2, seed = 0;
        int? batchArg = null;
        var sets = new List<string>();
        bool conditional = false;
        string mode = "train";
        string? dataPath = null;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data": dataPath = args[++i]; break;
                case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch-size": batchArg = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--set": sets.Add(args[++i]); break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--conditional": conditional = true; break;
                case "--mode": mode = args[++i]; break;
                case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        if (mode == "wnops") // WaveNet's operations alone, fwd+bwd, ms per call (bench.py wavenet --mode wnops)
        {
            TorchRuntime.EnsureReady(); TorchRuntime.SetThreads(threads);
            var ops = new List<(string Name, Func<Tensor> Make, Func<Tensor, Tensor> Op)>
            {
                ("dilated conv k2 d16 32->64", () => torch.randn(4, 32, 1615), x => nn.functional.conv1d(x, W(64, 32, 2), B(64), dilation: 16)),
                ("dilated k2 d16 as two matmuls", () => torch.randn(4, 32, 1615), x => torch.matmul(W(64, 32, 1).squeeze(2), x.narrow(2, 16, 1599)).add_(torch.matmul(W(64, 32, 1).squeeze(2), x.narrow(2, 0, 1599))).add_(B(64).unsqueeze(1))),
                ("dilated k2 d16 as one 1x1 over stacked", () => torch.randn(4, 32, 1615), x => nn.functional.conv1d(torch.cat(new[] { x.narrow(2, 0, 1599), x.narrow(2, 16, 1599) }, 1), W(64, 64, 1), B(64))),
                ("dilated k2 d16 as addmm on (B*T, C)", () => torch.randn(4, 1615, 32), x => torch.nn.functional.linear(x.narrow(1, 16, 1599), W(64, 32, 1).squeeze(2), B(64)).add_(torch.nn.functional.linear(x.narrow(1, 0, 1599), W(64, 32, 1).squeeze(2)))),
                ("1x1 conv 32->64", () => torch.randn(4, 32, 1599), x => nn.functional.conv1d(x, W(64, 32, 1), B(64))),
                ("1x1 conv 32->32", () => torch.randn(4, 32, 1599), x => nn.functional.conv1d(x, W(32, 32, 1), B(32))),
                ("1x1 conv 64->256", () => torch.randn(4, 64, 1599), x => nn.functional.conv1d(x, W(256, 64, 1), B(256))),
                ("tanh*sigmoid 4x64x1599", () => torch.randn(4, 64, 1599), x => torch.tanh(x.narrow(1, 0, 32)) * torch.sigmoid(x.narrow(1, 32, 32))),
                ("tanh 4x32x1599", () => torch.randn(4, 32, 1599), x => torch.tanh(x)),
                ("sigmoid 4x32x1599", () => torch.randn(4, 32, 1599), x => torch.sigmoid(x)),
                ("mul 4x32x1599", () => torch.randn(4, 32, 1599), x => x * x),
                ("matmul (64,64)@(4,64,1599)", () => torch.randn(4, 64, 1599), x => torch.matmul(W(64, 64, 1).squeeze(2), x)),
                ("cross_entropy 4x256x1599", () => torch.randn(4, 256, 1599), x => nn.functional.cross_entropy(x, torch.randint(0, 256, new long[] { 4, 1599 }))),
            };
            foreach (var (name, make, op) in ops)
            {
                var x = make().requires_grad_(true);
                void Once() { using var sc = torch.NewDisposeScope(); op(x).sum().backward(); x.grad!.zero_(); }
                for (int i = 0; i < 20; i++) Once();
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < steps; i++) Once();
                Console.WriteLine($"{name}: {clock.Elapsed.TotalMilliseconds / steps:F3} ms fwd+bwd");
            }
            return 0;
        }
        if (mode == "pwops") // PixelCNN's convolutions alone (batch 64, 28x28, channels-last as ConvolutionLayout makes them), fwd+bwd
        {
            TorchRuntime.EnsureReady(); TorchRuntime.SetThreads(threads);
            Tensor Act(long c, long h, long w) => ConvolutionLayout.ToChannelsLast(torch.randn(64, c, h, w)).requires_grad_(true);
            Tensor Cw(long o, long i, long kh, long kw) => ConvolutionLayout.Weight((torch.randn(o, i, kh, kw) * 0.05)).detach().requires_grad_(true);
            Tensor Pointwise(Tensor x, Tensor w, Tensor bias) =>
                nn.functional.linear(x.permute(0, 2, 3, 1), w.flatten(1), bias).permute(0, 3, 1, 2);
            var ops = new List<(string Name, Func<Tensor> Make, Func<Tensor, Tensor> Op)>();
            foreach (var (ci, co) in new[] { (64, 64), (128, 128), (128, 256), (64, 128) })
            {
                var w = Cw(co, ci, 1, 1); var bias = B(co);
                ops.Add(($"conv 1x1 {ci}->{co}", () => Act(ci, 28, 28), x => nn.functional.conv2d(x, w, bias)));
                ops.Add(($"linear 1x1 {ci}->{co}", () => Act(ci, 28, 28), x => Pointwise(x, w, bias)));
            }
            var wv = Cw(128, 64, 2, 3); var bv = B(128);
            ops.Add(("conv 2x3 64->128 (vertical)", () => Act(64, 29, 30), x => nn.functional.conv2d(x, wv, bv)));
            var wh = Cw(128, 64, 1, 2); var bh = B(128);
            ops.Add(("conv 1x2 64->128 (horizontal)", () => Act(64, 28, 29), x => nn.functional.conv2d(x, wh, bh)));
            // libtorch's default layout (oneDNN's blocked formats), as PyTorch runs them
            var wvb = (torch.randn(128, 64, 2, 3) * 0.05).requires_grad_(true); var whb = (torch.randn(128, 64, 1, 2) * 0.05).requires_grad_(true);
            ops.Add(("conv 2x3 64->128 (vertical, blocked)", () => torch.randn(64, 64, 29, 30).requires_grad_(true), x => nn.functional.conv2d(x, wvb, bv)));
            ops.Add(("conv 1x2 64->128 (horizontal, blocked)", () => torch.randn(64, 64, 28, 29).requires_grad_(true), x => nn.functional.conv2d(x, whb, bh)));
            var w11 = (torch.randn(128, 128, 1, 1) * 0.05).requires_grad_(true);
            ops.Add(("conv 1x1 128->128 (blocked)", () => torch.randn(64, 128, 28, 28).requires_grad_(true), x => nn.functional.conv2d(x, w11, bv)));
            var times = ops.Select(_ => new List<double>()).ToArray();
            var inputs = ops.Select(o => o.Make()).ToArray();
            var grads = new Tensor?[ops.Count];
            for (int round = 0; round < 3; round++) // interleaved rounds, so drift on a shared host hits every op
                for (int k = 0; k < ops.Count; k++)
                {
                    var (name, _, op) = ops[k];
                    void Once() { using var sc = torch.NewDisposeScope(); var y = op(inputs[k]); grads[k] ??= torch.ones_like(y).DetachFromDisposeScope(); y.backward(new[] { grads[k]! }); }
                    for (int i = 0; i < 3; i++) Once();
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < steps; i++) Once();
                    times[k].Add(clock.Elapsed.TotalMilliseconds / steps);
                }
            for (int k = 0; k < ops.Count; k++)
                Console.WriteLine($"{ops[k].Name}: {times[k].Min():F2} ms fwd+bwd (min of {string.Join(", ", times[k].Select(t => t.ToString("F1")))})");
            return 0;
        }
        if (mode == "gnops") // the DDPM UNet's GroupNorm (8 groups) alone, fwd+bwd: channels-last input as the UNet's convolutions leave it, vs contiguous
        {
            TorchRuntime.EnsureReady(); TorchRuntime.SetThreads(threads);
            var shapes = new long[][] { new long[] { 64, 32, 28, 28 }, new long[] { 64, 96, 28, 28 }, new long[] { 64, 64, 14, 14 }, new long[] { 64, 128, 14, 14 }, new long[] { 64, 64, 7, 7 } };
            var gamma = new Dictionary<long, Tensor>();
            foreach (var shape in shapes)
            {
                long c = shape[1];
                var weight = torch.ones(c).requires_grad_(true); var bias = torch.zeros(c).requires_grad_(true);
                var xcl = ConvolutionLayout.ToChannelsLast(torch.randn(shape)).requires_grad_(true);
                var xc = torch.randn(shape).requires_grad_(true);
                var variants = new (string Name, Tensor X, Func<Tensor, Tensor> Op)[]
                {
                    ("channels-last", xcl, x => nn.functional.group_norm(x, 8, weight, bias)),
                    ("contiguous", xc, x => nn.functional.group_norm(x, 8, weight, bias)),
                    ("channels-last via contiguous copy", xcl, x => ConvolutionLayout.ToChannelsLast(nn.functional.group_norm(x.contiguous(), 8, weight, bias))),
                    ("channels-last composite", xcl, x => GnComposite(x, 8, weight, bias)),
                };
                foreach (var (name, x, op) in variants)
                {
                    Tensor? g = null;
                    void Once() { using var sc = torch.NewDisposeScope(); var y = op(x); g ??= torch.randn_like(y).DetachFromDisposeScope(); y.backward(new[] { g }); }
                    for (int i = 0; i < 5; i++) Once();
                    var best = double.MaxValue;
                    for (int round = 0; round < 3; round++)
                    {
                        var clock = Stopwatch.StartNew();
                        for (int i = 0; i < steps; i++) Once();
                        best = Math.Min(best, clock.Elapsed.TotalMilliseconds / steps);
                    }
                    Console.WriteLine($"group_norm {string.Join("x", shape)} {name}: {best:F3} ms fwd+bwd");
                }
            }
            return 0;
        }
        if (mode == "convcost") // fwd+bwd of Glow's level-1 coupling convolutions alone, 3 repetitions of --steps
        {
            TorchRuntime.EnsureReady(); TorchRuntime.SetThreads(threads);
            foreach (var (ci, co) in new[] { (2, 64), (64, 4), (64, 64) })
            {
                var x = torch.randn(64, ci, 14, 14).requires_grad_(true);
                var w = torch.randn(co, ci, 3, 3).requires_grad_(true);
                void Once() { using var sc = torch.NewDisposeScope(); nn.functional.conv2d(x, w, padding: new long[] { 1, 1 }).sum().backward(); }
                for (int i = 0; i < 20; i++) Once();
                for (int rep = 0; rep < 3; rep++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < steps; i++) Once();
                    Console.WriteLine($"conv3x3 {ci}->{co} @14: {clock.Elapsed.TotalMilliseconds / steps:F3} ms fwd+bwd");
                }
            }
            return 0;
        }
        if (mode is not ("train" or "forward" or "opcost" or "gemm" or "phases" or "export" or "decode" or "speed" or "parts" or "lora" or "full" or "optstep")) { Console.Error.WriteLine($"--mode is train, forward, phases, export, opcost, optstep, gemm, convcost, wnops, pwops or gnops (families); decode, speed or parts (text model folders); lora or full (fine-tuning memory of a text model folder); got {mode}"); return 2; }

        TorchRuntime.EnsureReady();
        TorchRuntime.SetThreads(threads);
        TorchRuntime.Seed(0);

        if (Directory.Exists(modelName) && mode is "lora" or "full") return LoraBench.Run(modelName, mode == "full", steps, batchArg ?? 4, sets);
        if (Directory.Exists(modelName)) return TextBench.DecodeFolder(modelName, mode, steps, threads, dataPath);
        var family = FamilyRegistry.Get(modelName);
        int batch = batchArg ?? family.DefaultBatchSize;
        if (family is ITextFamily text) return TextBench.Run(text, mode, sets, batch, steps, warmup, threads, dataPath, seed);
        if (mode == "forward" && modelName is not ("vae" or "dcgan")) { Console.Error.WriteLine("--mode forward is implemented for vae and dcgan"); return 2; }
        if (conditional) sets.Add("conditional=true");
        var json = ConfigJson.ToJson(family.DefaultConfig);
        ConfigJson.ApplyOverrides(json, family.DefaultConfig.GetType(), sets);
        IGenerativeModel model = family.Build(family.ReadConfig(json), torch.CPU);
        long parameters = model.Model.parameters().Sum(p => p.numel());

        // Audio families train on synthetic crops of the configured shape (bench/pytorch/wavenet.py uses the same pool);
        // image families on the embedded Fashion-MNIST subset.
        Func<long, (Tensor, Tensor)> getBatch;
        string dataLine;
        if (family is IAudioFamily audioFamily)
        {
            var pool = SyntheticAudio.Pool(audioFamily, model.Config, batch);
            getBatch = s => pool[(int)(s % pool.Count)];
            dataLine = $"data: synthetic: {pool.Count} batches of {batch} crops of {audioFamily.CropSamples(model.Config)} samples with ({string.Join(", ", pool[0].Item2.shape.Skip(1))}) mel frames";
        }
        else if (family is IVideoFamily videoFamily)
        {
            // Video families: synthetic uint8 clips of the configured shape (bench/pytorch/videodiffusion.py uses the same pool).
            if (videoFamily.MotionTargets) { Console.Error.WriteLine($"{modelName}: the bench feeds clips with class labels only"); return 2; }
            var clips = videoFamily.Data(model.Config);
            var pool = SyntheticVideo.Pool(clips, classes: 10, batch);   // the garment classes of Fashion-MNIST
            getBatch = s => pool[(int)(s % pool.Count)];
            dataLine = $"data: synthetic: {pool.Count} batches of {batch} clips of {clips.Frames} frames {clips.FrameSize}x{clips.FrameSize}";
        }
        else
        {
            var data = FashionMnist.Load(FashionMnist.Embedded, train: true);
            var loader = new BatchLoader(data, batch, seed: 0);
            getBatch = loader.GetBatch;
            dataLine = $"data: {data.Source}, {data.Count} images, {loader.BatchesPerEpoch} batches/epoch";
        }

        Console.WriteLine($"GenSharp {TorchRuntime.GenSharpVersion}, TorchSharp {TorchRuntime.TorchSharpVersion}, libtorch {TorchRuntime.LibTorchVersion}");
        Console.WriteLine($"model={modelName}{(conditional ? " (conditional)" : "")} mode={mode} params={parameters} batch={batch} threads={torch.get_num_threads()} (interop {torch.get_num_interop_threads()}) malloc_tuned={TorchRuntime.AllocatorTuned} warmup={warmup} steps={steps}");
        Console.WriteLine(dataLine);

        if (mode == "opcost") return OpCost(steps, threads);
        if (mode == "gemm") return Gemm(steps, threads);
        using var runner = new GenSharp.Training.StepRunner(model.Trainable());   // the optimizers the trainer would build
        if (mode == "optstep") return OptimizerStep(runner, steps);
        if (mode == "export" && model is GenSharp.Models.Audio.WaveNetModel exported)
            return WaveNetExport(exported, getBatch(0), dataPath ?? throw new ArgumentException("--mode export needs --data DIR (the folder to write)"));
        if (mode == "export" && model is GenSharp.Models.Video.VideoDiffusionModel video)
            return VideoDiffusionExport(video, getBatch(0), dataPath ?? throw new ArgumentException("--mode export needs --data DIR (the folder to write)"));
        if (mode == "phases" && model is GenSharp.Models.Audio.WaveNetModel wavenet)
            return WaveNetPhases(wavenet, runner.Optimizers[0], getBatch, warmup, steps);
        if (mode == "phases" && model is GenSharp.Models.Flows.GlowModel glow)
        {
            var opt = runner.Optimizers[0];
            double tf = 0, tb = 0, tc = 0, ts = 0;
            for (int i = 0; i < warmup + steps; i++)
            {
                using var sc = torch.NewDisposeScope();
                var (xb, _) = getBatch(i);
                var c0 = Stopwatch.StartNew();
                var loss = glow.DiscreteNll(GenSharp.Data.ImageTransforms.Dequantize(xb)).mean();
                double ta = c0.Elapsed.TotalMilliseconds;
                opt.zero_grad(); loss.backward();
                double tb2 = c0.Elapsed.TotalMilliseconds;
                nn.utils.clip_grad_norm_(glow.Model.parameters(), 50.0);
                double c = c0.Elapsed.TotalMilliseconds;
                opt.step();
                double d = c0.Elapsed.TotalMilliseconds;
                if (i >= warmup) { tf += ta; tb += tb2 - ta; tc += c - tb2; ts += d - c; }
                if (i % 10 == 9) TorchRuntime.ReleaseUnreachableTensors();
            }
            Console.WriteLine($"forward {tf / steps:F1} ms, backward {tb / steps:F1} ms, clip {tc / steps:F1} ms, step {ts / steps:F1} ms");
            return 0;
        }

        Func<Tensor, Tensor, double> step = mode == "train"
            ? (x, y) => runner.Step(x, y).Values.First()
            : ForwardOnly(model, conditional);

        double? rss500 = null, rss2000 = null;
        var proc = Process.GetCurrentProcess();
        long total = (long)warmup + steps;
        var sw = new Stopwatch();
        double last = 0;
        var collector = new UnreachableTensorCollector();
        for (long s = 0; s < total; s++)
        {
            if (s == warmup) sw.Start();
            using (var scope = torch.NewDisposeScope())
            {
                var (images, labels) = getBatch(s);
                last = step(images, labels);
            }
            long done = s + 1; // training steps completed, warmup included
            collector.AfterStep(); // as the Trainer does (timed: it is part of the loop)
            if (done == 500) { rss500 = Mb(Environment.WorkingSet); Console.WriteLine($"step {done}: rss {rss500:F1} MB"); }
            if (done == 2000) { rss2000 = Mb(Environment.WorkingSet); Console.WriteLine($"step {done}: rss {rss2000:F1} MB"); }
        }
        sw.Stop();
        double ips = steps * (double)batch / sw.Elapsed.TotalSeconds;
        proc.Refresh();
        double peak = Math.Max(Mb(proc.PeakWorkingSet64), Mb(Environment.WorkingSet));
        Console.WriteLine($"{steps} steps in {sw.Elapsed.TotalSeconds:F2} s: {ips:F1} images/s ({sw.Elapsed.TotalMilliseconds / steps:F2} ms/step), last loss {last:F3}");
        Console.WriteLine($"rss now {Mb(Environment.WorkingSet):F1} MB, peak {peak:F1} MB");
        if (rss500 is double a && rss2000 is double b) Console.WriteLine($"rss growth 500→2000: {100 * (b - a) / a:+0.00;-0.00}%");

        var result = new Dictionary<string, object?>
        {
            ["impl"] = "gensharp",
            ["model"] = modelName + (conditional ? "-cond" : "") + string.Concat(sets.Where(x => x != "conditional=true").Select(x => "," + x)),
            ["mode"] = mode,
            ["params"] = parameters,
            ["batch"] = batch,
            ["threads"] = threads,
            ["warmup"] = warmup,
            ["steps"] = steps,
            ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 3),
            ["images_per_s"] = Math.Round(ips, 1),
            ["rss_mb_500"] = rss500 is double r5 ? Math.Round(r5, 1) : null,
            ["rss_mb_2000"] = rss2000 is double r2 ? Math.Round(r2, 1) : null,
            ["peak_rss_mb"] = Math.Round(peak, 1),
            ["versions"] = $"TorchSharp {TorchRuntime.TorchSharpVersion} / libtorch {TorchRuntime.LibTorchVersion}",
        };
        Console.WriteLine(JsonSerializer.Serialize(result));
        model.Dispose();
        return 0;
    }

    /// <summary>Per-op dispatch cost: µs for one add of two 1-element tensors (interop + libtorch dispatch).</summary>
    /// <summary>
    /// --mode optstep: the optimizer step alone, over the family's parameters with random gradients: the trainer's optimizers
    /// (libtorch's fused Adam/AdamW kernel) against TorchSharp's own Adam/AdamW built from the same specs, in alternating
    /// blocks of <paramref name="steps"/> steps in this process. Prints milliseconds per step (all optimizers of the family).
    /// </summary>
    static int OptimizerStep(GenSharp.Training.StepRunner runner, int steps)
    {
        var fused = runner.Optimizers;
        var plain = runner.Specs.Select(spec => spec.Algorithm switch
        {
            GenSharp.Training.OptimizerAlgorithm.Adam => (optim.Optimizer)optim.Adam(spec.Groups.Select(g => new TorchSharp.Modules.Adam.ParamGroup(g.Parameters, spec.LearningRate, spec.Beta1, spec.Beta2, spec.Eps, g.WeightDecay ?? spec.WeightDecay, false, false)), spec.LearningRate, spec.Beta1, spec.Beta2, spec.Eps, spec.WeightDecay),
            GenSharp.Training.OptimizerAlgorithm.AdamW => optim.AdamW(spec.Groups.Select(g => new TorchSharp.Modules.AdamW.ParamGroup(g.Parameters, spec.LearningRate, spec.Beta1, spec.Beta2, spec.Eps, g.WeightDecay ?? spec.WeightDecay, false, false)), spec.LearningRate, spec.Beta1, spec.Beta2, spec.Eps, spec.WeightDecay),
            _ => spec.Build(),
        }).ToList();
        var parameters = runner.Specs.SelectMany(s => s.Parameters).Distinct().ToList();
        using (torch.no_grad()) foreach (var p in parameters) p.grad = torch.randn_like(p) * 1e-3;
        Console.WriteLine($"{parameters.Count} parameter tensors, {parameters.Sum(p => p.numel())} values, {runner.Specs.Count} optimizer(s): {string.Join(", ", runner.Specs.Select(s => s.Algorithm))}");
        double Time(IReadOnlyList<optim.Optimizer> opts)
        {
            foreach (var o in opts) o.step();
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) foreach (var o in opts) o.step();
            return clock.Elapsed.TotalMilliseconds / steps;
        }
        var (a, b) = (new List<double>(), new List<double>());
        for (int round = 0; round < 5; round++) { a.Add(Time(plain)); b.Add(Time(fused)); }
        a.Sort(); b.Sort();
        Console.WriteLine($"TorchSharp Adam/AdamW {a[2]:F2} ms (best {a[0]:F2}), fused {b[2]:F2} ms (best {b[0]:F2}) a step, medians of 5 blocks of {steps}");
        foreach (var o in plain) o.Dispose();
        return 0;
    }

    static int OpCost(int steps, int threads)
    {
        var a = torch.ones(1);
        var b = torch.ones(1);
        int n = Math.Max(steps, 1) * 1000;
        for (int i = 0; i < 10000; i++) { using var s0 = torch.NewDisposeScope(); _ = a.add(b); }
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) { using var s1 = torch.NewDisposeScope(); _ = a.add(b); }
        double us = sw.Elapsed.TotalMilliseconds * 1000.0 / n;
        Console.WriteLine($"opcost: {us:F2} us per add of 1-element tensors ({n} ops, one dispose scope each)");
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?> { ["impl"] = "gensharp", ["mode"] = "opcost", ["threads"] = threads, ["ops"] = n, ["us_per_op"] = Math.Round(us, 3) }));
        return 0;
    }

    /// <summary>float32 matrix products of the shapes the VAE, DCGAN and gpt steps multiply (BLAS alone), GFLOP/s.</summary>
    static int Gemm(int steps, int threads)
    {
        var shapes = new (long M, long K, long N)[] { (128, 3136, 256), (3136, 128, 256), (128, 256, 3136), (768, 128, 384), (768, 128, 128), (1024, 1024, 1024) };
        var result = new Dictionary<string, object?> { ["impl"] = "gensharp", ["mode"] = "gemm", ["threads"] = threads };
        foreach (var (m, k, n) in shapes)
        {
            using var scope = torch.NewDisposeScope();
            var a = torch.randn(m, k);
            var b = torch.randn(k, n);
            for (int i = 0; i < 5; i++) using (torch.NewDisposeScope()) _ = a.matmul(b);
            int reps = Math.Max(steps, 1);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) using (torch.NewDisposeScope()) _ = a.matmul(b);
            double gflops = 2.0 * m * k * n * reps / sw.Elapsed.TotalSeconds / 1e9;
            // the same product as a 1×1 convolution (oneDNN when libtorch sends convolutions there): x (m, k, 1, 1), w (n, k, 1, 1)
            var x4 = a.view(m, k, 1, 1);
            var w4 = b.t().contiguous().view(n, k, 1, 1);
            for (int i = 0; i < 5; i++) using (torch.NewDisposeScope()) _ = nn.functional.conv2d(x4, w4);
            sw.Restart();
            for (int i = 0; i < reps; i++) using (torch.NewDisposeScope()) _ = nn.functional.conv2d(x4, w4);
            double conv = 2.0 * m * k * n * reps / sw.Elapsed.TotalSeconds / 1e9;
            Console.WriteLine($"{m}x{k} @ {k}x{n}: {gflops:F1} GFLOP/s; as a 1x1 convolution {conv:F1}");
            result[$"{m}x{k}x{n}"] = Math.Round(gflops, 1);
            result[$"conv{m}x{k}x{n}"] = Math.Round(conv, 1);
        }
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    static double Mb(long bytes) => bytes / (1024.0 * 1024.0);
    static Tensor GnComposite(Tensor x, long groups, Tensor weight, Tensor bias)
    {
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], d = c / groups;
        var v = x.permute(0, 2, 3, 1).view(n, h * w, groups, d);
        var (variance, mean) = torch.var_mean(v, new long[] { 1, 3 }, unbiased: false, keepdim: true);
        var scale = (variance + 1e-5).rsqrt() * weight.view(1, 1, groups, d);
        var shift = bias.view(1, 1, groups, d) - mean * scale;
        return torch.addcmul(shift, v, scale, 1).view(n, h, w, c).permute(0, 3, 1, 2);
    }

    static Tensor W(long o, long i, long k) => (torch.randn(o, i, k) * 0.1).requires_grad_(true);
    static Tensor B(long o) => torch.zeros(o).requires_grad_(true);

    /// <summary>
    /// The twin check (bench/pytorch/wavenet.py --check DIR): writes the freshly initialised weights (weights.safetensors,
    /// the checkpoint names), the first synthetic batch (batch.safetensors: audio, mel) and the loss and gradient norm
    /// GenSharp computes on it (check.json), for the twin to load and recompute.
    /// </summary>
    static int WaveNetExport(GenSharp.Models.Audio.WaveNetModel model, (Tensor Audio, Tensor Mel) batch, string dir)
    {
        Directory.CreateDirectory(dir);
        GenSharp.Checkpoints.Safetensors.Save(Path.Combine(dir, "weights.safetensors"), GenSharp.Checkpoints.ModuleState.Collect(model.Model));
        GenSharp.Checkpoints.Safetensors.Save(Path.Combine(dir, "batch.safetensors"), new Dictionary<string, Tensor> { ["audio"] = batch.Audio, ["mel"] = batch.Mel });
        model.Model.train();
        var loss = model.CropLoss(batch.Audio, batch.Mel);
        loss.backward();
        // The last layer's residual output feeds nothing (only the skips reach the head): no gradient there, on both sides.
        double norm = Math.Sqrt(model.Model.parameters().Where(p => p.grad is not null).Sum(p => p.grad!.pow(2).sum().to(ScalarType.Float64).item<double>()));
        var result = new Dictionary<string, object?> { ["loss"] = loss.to(ScalarType.Float64).item<double>(), ["grad_norm"] = norm, ["params"] = model.Model.parameters().Sum(p => p.numel()) };
        File.WriteAllText(Path.Combine(dir, "check.json"), JsonSerializer.Serialize(result));
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>
    /// The twin check of videodiffusion (bench/pytorch/videodiffusion.py --check DIR): the initial weights, the first
    /// synthetic batch (clips, labels) and the loss of TrainStep on it with its gradient norm, torch's generator seeded
    /// with 1234 right before the loss so the twin draws the same masks, steps, noise and label drops.
    /// </summary>
    static int VideoDiffusionExport(GenSharp.Models.Video.VideoDiffusionModel model, (Tensor Clips, Tensor Labels) batch, string dir)
    {
        Directory.CreateDirectory(dir);
        GenSharp.Checkpoints.Safetensors.Save(Path.Combine(dir, "weights.safetensors"), GenSharp.Checkpoints.ModuleState.Collect(model.Model));
        GenSharp.Checkpoints.Safetensors.Save(Path.Combine(dir, "batch.safetensors"), new Dictionary<string, Tensor> { ["clips"] = batch.Clips, ["labels"] = batch.Labels });
        model.Model.train();
        torch.manual_seed(1234);
        var loss = model.TrainStep(batch.Clips, batch.Labels, new GenSharp.Training.StepContext(0)).Single().Loss;
        loss.backward();
        double norm = Math.Sqrt(model.Model.parameters().Where(p => p.grad is not null).Sum(p => p.grad!.pow(2).sum().to(ScalarType.Float64).item<double>()));
        var result = new Dictionary<string, object?> { ["loss"] = loss.to(ScalarType.Float64).item<double>(), ["grad_norm"] = norm, ["params"] = model.Model.parameters().Sum(p => p.numel()) };
        File.WriteAllText(Path.Combine(dir, "check.json"), JsonSerializer.Serialize(result));
        Console.WriteLine(JsonSerializer.Serialize(result));
        return 0;
    }

    /// <summary>WaveNet's training step timed apart: forward + loss, backward, gradient clipping, Adam (bench.py --mode phases).</summary>
    static int WaveNetPhases(GenSharp.Models.Audio.WaveNetModel model, torch.optim.Optimizer opt, Func<long, (Tensor, Tensor)> getBatch, int warmup, int steps)
    {
        double tf = 0, tb = 0, tc = 0, ts = 0;
        var collector = new UnreachableTensorCollector();
        model.Model.train();
        for (int i = 0; i < warmup + steps; i++)
        {
            using var sc = torch.NewDisposeScope();
            var (audio, mel) = getBatch(i);
            var c0 = Stopwatch.StartNew();
            var loss = model.CropLoss(audio, mel);
            _ = loss.detach().item<float>();
            double a = c0.Elapsed.TotalMilliseconds;
            opt.zero_grad(); loss.backward();
            double b = c0.Elapsed.TotalMilliseconds;
            nn.utils.clip_grad_norm_(model.Model.parameters(), 1.0);
            double c = c0.Elapsed.TotalMilliseconds;
            opt.step();
            double d = c0.Elapsed.TotalMilliseconds;
            if (i >= warmup) { tf += a; tb += b - a; tc += c - b; ts += d - c; }
            collector.AfterStep();
        }
        Console.WriteLine($"forward {tf / steps:F1} ms, backward {tb / steps:F1} ms, clip {tc / steps:F1} ms, step {ts / steps:F1} ms");
        return 0;
    }

    /// <summary>Forward pass + loss of the same graph the training step builds, under no_grad.</summary>
    static Func<Tensor, Tensor, double> ForwardOnly(IGenerativeModel model, bool conditional)
    {
        if (model is VaeModel vae)
            return (images, _) =>
            {
                using var ng = torch.no_grad();
                vae.Network.train();
                var x = ImageTransforms.Binarize(ImageTransforms.ToFloat(images, PixelScale.ZeroOne), stochastic: true);
                var (loss, _, _) = vae.NegativeElbo(x, 1.0);
                return loss.mean().item<float>();
            };
        var gan = (DcganModel)model;
        return (images, labels) =>
        {
            using var ng = torch.no_grad();
            gan.Networks.train();
            var real = ImageTransforms.ToFloat(images, PixelScale.MinusOneOne);
            long b = real.shape[0];
            Tensor? y = conditional ? labels : null;
            var z = torch.randn(b, gan.Networks.Generator.LatentDim);
            var fake = gan.Networks.Generator.forward(z, y);
            var ones = torch.ones(b);
            var dReal = gan.Networks.Discriminator.forward(real, y);
            var dFake = gan.Networks.Discriminator.forward(fake, y);
            var dFakeG = gan.Networks.Discriminator.forward(fake, y);
            var lossD = nn.functional.binary_cross_entropy_with_logits(dReal, ones) + nn.functional.binary_cross_entropy_with_logits(dFake, torch.zeros(b));
            var lossG = nn.functional.binary_cross_entropy_with_logits(dFakeG, ones);
            return (lossD + lossG).item<float>();
        };
    }
}
