using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Distributed;
using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Data-parallel training over MPI changes where the work is done, not what is learned: 2 ranks with half of each batch
/// end with the weights of one process that sees the whole batch (float tolerance).
/// </summary>
public class DataParallelEquivalenceTests(ITestOutputHelper output)
{
    const double Tolerance = 1e-5;

    [Fact]
    public void TwoRanksWithHalfBatchesMatchOneProcessWithTheWholeBatch_Gpt()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);
        string Args(int batch, string run) => $"train gpt --data \"{text}\" --steps 4 --batch-size {batch} --seed 3 --set warmup_steps=0 {MpiJob.TinyGpt} --threads 1 --out \"{Path.Combine(dir, run)}\"";

        AssertTwoRanksMatchOneProcessWithTheWholeBatch(dir, Args, "weights");
    }

    /// <summary>
    /// LoRA fine-tuning data-parallel: the frozen base is the same on every rank, each rank takes half of every batch of
    /// text windows, and the averaged adapter updates end where one process with the whole batch ends.
    /// </summary>
    [Fact]
    public void TwoRanksFineTuneTheAdaptersLikeOneProcessWithTheWholeBatch_Lora()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        var text = MpiJob.WriteText(dir);
        var baseRun = Path.Combine(dir, "base");
        MpiJob.RunCli($"train gpt --data \"{text}\" --steps 3 --batch-size 8 --seed 1 {MpiJob.TinyGpt} --threads 1 --out \"{baseRun}\"").AssertSucceeded("base gpt");
        string Args(int batch, string run) => $"finetune \"{baseRun}\" --data \"{text}\" --steps 4 --batch-size {batch} --lora-r 4 --lora-dropout 0 " +
                                              $"--lr 0.01 --context 16 --seed 3 --checkpoint-every 0 --threads 1 --out \"{Path.Combine(dir, run)}\"";

        AssertTwoRanksMatchOneProcessWithTheWholeBatch(dir, Args, "adapters");
        Assert.True(File.Exists(Path.Combine(dir, "two", "adapter_model.safetensors")), "rank 0 writes the adapter in PEFT's format");
    }

    /// <summary>
    /// Runs <paramref name="args"/>(batch, run folder) as one process with batch 8 and as 2 ranks with batch 8 and checks
    /// their checkpoints agree within <see cref="Tolerance"/>; one process with batch 4 (what a rank alone would learn)
    /// must be far off, or the tolerance could not tell.
    /// </summary>
    void AssertTwoRanksMatchOneProcessWithTheWholeBatch(string dir, Func<int, string, string> args, string what)
    {
        MpiJob.RunCli(args(8, "one")).AssertSucceeded("one process, batch 8");
        var two = MpiJob.RunMpi(2, args(8, "two") + " --distributed");
        two.AssertSucceeded("2 ranks, batch 8");
        Assert.Contains("distributed: 2 ranks", two.Output);
        double d = MpiJob.MaxDifference(Path.Combine(dir, "one"), Path.Combine(dir, "two"));
        output.WriteLine($"max |Δ {what}| one process vs 2 ranks: {d:G3}");
        Assert.True(d < Tolerance, $"2 ranks differ from one process by {d}");
        MpiJob.RunCli(args(4, "half")).AssertSucceeded("one process, batch 4");
        double half = MpiJob.MaxDifference(Path.Combine(dir, "one"), Path.Combine(dir, "half"));
        output.WriteLine($"max |Δ {what}| batch 8 vs batch 4: {half:G3}");
        Assert.True(half > 100 * Tolerance, $"batch 4 is only {half} from batch 8: the test cannot tell");
    }

    /// <summary>
    /// A GAN: D's and G's updates both averaged. Its noise (z) is drawn per rank and its batch norms see each rank's
    /// rows, so one process with the whole batch is not the reference; two replicas in this process are: each gets a
    /// rank's rows and the rank's seeds, and before every optimizer step their gradients are averaged by hand.
    /// </summary>
    [Fact]
    public void TwoRanksMatchTwoReplicasAveragedByHand_Dcgan()
    {
        if (MpiJob.Missing(output)) return;
        var dir = TestData.TempDir();
        const int batch = 8, steps = 3, seed = 5;
        var run = Path.Combine(dir, "mpi");
        MpiJob.RunMpi(2, $"train dcgan --data embedded --steps {steps} --batch-size {batch} --seed {seed} --set latent_dim=8 " +
                         $"--set generator_channels=8 --set discriminator_channels=8 --sample-every 0 --checkpoint-every 0 --threads 1 --out \"{run}\" --distributed")
              .AssertSucceeded("2 ranks dcgan");

        int threads = torch.get_num_threads();
        torch.set_num_threads(1);   // the ranks ran on one thread each: same kernels, same sums
        try
        {
            var checkpoint = Checkpoint.Open(run);
            var replicas = new IGenerativeModel[2];
            try
            {
                for (int r = 0; r < 2; r++)
                {
                    TorchRuntime.Seed(seed);
                    replicas[r] = checkpoint.Family.Build(checkpoint.Config, CPU);
                }
                var initial = replicas[0].Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
                TrainByHand(replicas, new BatchLoader(TestData.Train, batch, seed, shuffle: true, dropLast: true), seed, steps);

                using var saved = Safetensors.Load(Path.Combine(run, CheckpointFolder.RunSubfolder, CheckpointFolder.ModelFile));
                double d = 0, moved = 0;
                foreach (var (name, t) in replicas[0].Model.state_dict())
                {
                    if (!t.is_floating_point()) continue;
                    d = Math.Max(d, (t - saved.Tensors[name]).abs().max().item<float>());
                    moved = Math.Max(moved, (t - initial[name]).abs().max().item<float>());
                }
                output.WriteLine($"max |Δw| 2 ranks vs 2 replicas: {d:G3}; weights moved by up to {moved:G3}");
                Assert.True(moved > 100 * Tolerance, $"the weights moved only {moved}: the test cannot tell");
                Assert.True(d < Tolerance, $"2 ranks differ from the hand-averaged replicas by {d}");
            }
            finally
            {
                foreach (var m in replicas) m?.Dispose();
            }
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    /// <summary>
    /// Data parallelism by hand: replica r trains on rows [r·B/2, (r+1)·B/2) of each batch with rank r's seed for the
    /// step and its own RNG stream; the two run each loss in lockstep; their gradients are averaged before each step.
    /// </summary>
    static void TrainByHand(IGenerativeModel[] replicas, BatchLoader loader, long seed, int steps)
    {
        var trainables = replicas.Select(m => m.Trainable()).ToArray();
        var specs = trainables.Select(t => t.OptimizerSpecs.ToArray()).ToArray();
        var optimizers = specs.Select(s => s.Select(spec => spec.Build()).ToArray()).ToArray();
        try
        {
            for (int step = 0; step < steps; step++)
            {
                using var scope = torch.NewDisposeScope();
                var (x, y) = loader.GetBatch(step);
                long share = x.shape[0] / 2;
                var rng = new Tensor[2];
                var terms = new IEnumerator<LossTerm>[2];
                for (int r = 0; r < 2; r++)
                {
                    TorchRuntime.Seed(DataParallel.SeedFor(seed, r, step));
                    rng[r] = torch.get_rng_state();
                    terms[r] = trainables[r].TrainStep(x.narrow(0, r * share, share), y.narrow(0, r * share, share), new StepContext(step)).GetEnumerator();
                }
                while (true)
                {
                    bool more = false;
                    for (int r = 0; r < 2; r++)
                    {
                        torch.set_rng_state(rng[r]);
                        more = terms[r].MoveNext();
                        rng[r] = torch.get_rng_state();
                    }
                    if (!more) break;
                    int o = terms[0].Current.Optimizer;
                    for (int r = 0; r < 2; r++)
                    {
                        var spec = specs[r][o];
                        if (!spec.Schedule.IsConstant)
                            foreach (var g in optimizers[r][o].ParamGroups) g.LearningRate = spec.Schedule.At(spec.LearningRate, step);
                        optimizers[r][o].zero_grad();
                        terms[r].Current.Loss.backward();
                    }
                    using (torch.no_grad())
                    {
                        foreach (var (p0, p1) in specs[0][o].Parameters.Zip(specs[1][o].Parameters))
                        {
                            if (p0.grad is not { } g0 || p1.grad is not { } g1) continue;
                            var mean = (g0 + g1) / 2;
                            g0.copy_(mean);
                            g1.copy_(mean);
                        }
                    }
                    for (int r = 0; r < 2; r++)
                    {
                        if (specs[r][o].GradClip > 0) nn.utils.clip_grad_norm_(specs[r][o].Parameters, specs[r][o].GradClip);
                        optimizers[r][o].step();
                    }
                }
                foreach (var t in terms) t.Dispose();
                if (step == 0)
                {
                    // The trainer makes rank 0's module (weights and buffers) everyone's after the first step.
                    using var _ = torch.no_grad();
                    var source = replicas[0].Model.state_dict();
                    foreach (var (name, t) in replicas[1].Model.state_dict()) t.copy_(source[name]);
                }
            }
        }
        finally
        {
            foreach (var o in optimizers.SelectMany(a => a)) o.Dispose();
        }
    }
}
