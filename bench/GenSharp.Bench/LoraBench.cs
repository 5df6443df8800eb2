// LoRA vs full fine-tuning of one text model: trainable parameters, peak resident memory (VmHWM) and ms per step.
// Run each mode in its own process, since the peak is per process:
//
//   GenSharp.Bench FOLDER --mode lora [--steps 5] [--batch-size 4] [--set context=128] [--set r=8] [--set targets=q_proj,v_proj]
//   GenSharp.Bench FOLDER --mode full [--steps 5] [--batch-size 4] [--set context=128]
//
// Both: AdamW, next-token cross-entropy on random tokens (memory and time do not depend on the values), the first step
// not timed. Full fine-tuning trains every parameter (AdamW keeps two moments per parameter, plus its gradient).
using System.Diagnostics;
using System.Globalization;
using GenSharp.Checkpoints;
using GenSharp.Models.Gpt;
using GenSharp.Models.Lora;
using TorchSharp;
using static TorchSharp.torch;

static class LoraBench
{
    public static int Run(string folder, bool full, int steps, int batch, List<string> sets)
    {
        var kv = sets.Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        int context = int.Parse(kv.GetValueOrDefault("context", "128"), CultureInfo.InvariantCulture);
        int rank = int.Parse(kv.GetValueOrDefault("r", "8"), CultureInfo.InvariantCulture);
        var targets = kv.GetValueOrDefault("targets", "q_proj,v_proj").Split(',');
        using var m = Checkpoint.LoadTextModel(folder, CPU);
        var network = (DecoderNetwork)m.Network!;
        long total = network.parameters().Sum(p => p.numel());
        List<TorchSharp.Modules.Parameter> trained;
        if (full)
        {
            foreach (var p in network.parameters()) p.requires_grad = true;
            trained = network.parameters().ToList();
        }
        else
        {
            LoraAdapters.Apply(network, new LoraConfig(rank, 2 * rank, 0.05, targets));
            trained = LoraAdapters.Parameters(network).ToList();
        }
        long loadedRss = Rss("VmRSS");
        using var opt = optim.AdamW(trained, lr: 1e-4);
        var g = new Generator(0);
        var clock = new Stopwatch();
        for (int step = 0; step <= steps; step++)
        {
            if (step == 1) clock.Start();
            using var scope = NewDisposeScope();
            var tokens = randint(0, m.Model.VocabSize, new long[] { batch, context + 1 }, generator: g);
            network.train();
            var logits = network.Forward(tokens.narrow(1, 0, context));
            var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]), tokens.narrow(1, 1, context).reshape(-1));
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        double msPerStep = clock.Elapsed.TotalMilliseconds / Math.Max(1, steps);
        long trainable = trained.Sum(p => p.numel());
        Console.WriteLine($"{(full ? "full" : $"lora r={rank} {string.Join(",", targets)}")}: {trainable:N0} trainable of {total:N0} parameters ({100.0 * trainable / total:G3}%), " +
                          $"RSS after load {loadedRss / 1048576.0:F0} MB, peak RSS {Rss("VmHWM") / 1048576.0:F0} MB, {msPerStep:F0} ms/step (batch {batch} × {context} tokens, {steps} timed steps)");
        return 0;
    }

    /// <summary>A /proc/self/status field in bytes.</summary>
    static long Rss(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
