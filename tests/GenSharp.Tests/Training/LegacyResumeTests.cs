using GenSharp.Checkpoints;
using GenSharp.Training;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Run folders written by the release before the trainer owned the step (<c>Fixtures/LegacyResume/make.sh</c>): their
/// model.safetensors still holds the <c>steps_done</c> buffers, and their optimizer.bin the optimizers the models built
/// themselves. Resuming them must load both and continue as that release would have.
/// </summary>
public class LegacyResumeTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "LegacyResume", name);

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }

    static TrainResult Resume(string family, out string dir)
    {
        dir = Path.Combine(TestData.TempDir(), family);
        CopyDirectory(Fixture(family), dir);
        bool text = family == "gpt";
        int threads = TorchSharp.torch.get_num_threads();
        // Natively, as the fixtures' convolutions summed: under Adam a gradient element near zero moves its weight by
        // ±lr whatever its size, so another summation order (oneDNN's) can flip one such sign and move a weight by 2·lr.
        bool oneDnn = GenSharp.Runtime.TorchRuntime.OneDnnConvolutions;
        GenSharp.Runtime.TorchRuntime.SetOneDnnConvolutions(false);
        try
        {
            return TrainingRun.Run(new TrainRequest
            {
            Family = family,
            OutDir = dir,
            Resume = true,
            Steps = 3,
            Data = text ? Fixture("text.txt") : "embedded",
            Limit = text ? null : 64,
            CheckpointEvery = 0,
            SampleEvery = 0,
            Threads = 1,   // as the fixtures were made: other thread counts sum convolutions in another order
            }, TrainingProgress.Silent);
        }
        finally
        {
            TorchSharp.torch.set_num_threads(threads);
            GenSharp.Runtime.TorchRuntime.SetOneDnnConvolutions(oneDnn);
        }
    }

    [Theory]
    [InlineData("dcgan")]
    [InlineData("glow")]
    [InlineData("dbn")]
    [InlineData("classifier")]
    public void ResumingAPreviousReleaseRunGivesItsUninterruptedWeights(string family)
    {
        var r = Resume(family, out var dir);
        Assert.Equal(3, r.Step);
        using var resumed = Safetensors.Load(Path.Combine(dir, "checkpoint", CheckpointFolder.ModelFile));
        using var uninterrupted = Safetensors.Load(Fixture(family + ".step3.safetensors"));
        Assert.DoesNotContain("steps_done", resumed.Tensors.Keys);
        foreach (var (name, t) in resumed.Tensors)
        {
            var expected = uninterrupted.Tensors[name];
            // Not bit for bit: the fixtures were made with oneDNN's blocked convolutions, which sum in another order
            // than the native path this test takes; a wrongly loaded optimizer state moves a weight by about the
            // learning rate (1e-4 and more), far above this bound.
            Assert.True(t.shape.SequenceEqual(expected.shape), $"{family}: {name} has another shape than in the previous release's run");
            double diff = (t.to_type(TorchSharp.torch.ScalarType.Float64) - expected.to_type(TorchSharp.torch.ScalarType.Float64)).abs().max().item<double>();
            Assert.True(diff < 1e-7, $"{family}: {name} differs from the previous release's uninterrupted run (max |Δ| {diff:E2})");
        }
    }

    [Fact]
    public void ResumingAPreviousReleaseGptRunLoadsItsAdamWState()
    {
        // The previous release fixed lr_decay_steps to the first run's --steps, so a longer resumed run follows another
        // schedule than an uninterrupted one: check that it loads and continues.
        var r = Resume("gpt", out var dir);
        Assert.Equal(3, r.Step);
        Assert.True(double.IsFinite(r.Losses.Single()));
        using var resumed = Safetensors.Load(Path.Combine(dir, "checkpoint", CheckpointFolder.ModelFile));
        Assert.DoesNotContain("steps_done", resumed.Tensors.Keys);
    }
}
