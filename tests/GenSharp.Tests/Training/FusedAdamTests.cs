using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// The fused optimizers against TorchSharp's own Adam and AdamW, which update a parameter at a time with separate tensor
/// operations: same parameters and moments after many steps, with two groups of their own learning rate and weight decay,
/// a parameter that never gets a gradient, a channels-last weight whose gradient is contiguous, and a schedule that changes
/// the learning rate; and their saved state, which is TorchSharp's.
/// </summary>
public class FusedAdamTests
{
    sealed class Net : IDisposable
    {
        public readonly Parameter Conv, Bias, Matrix, Unused;
        /// <param name="channelsLast">The conv weight channels-last (TorchSharp saves optimizer state of contiguous tensors only; the trainer relays it).</param>
        public Net(bool channelsLast = true)
        {
            manual_seed(7);
            Conv = new Parameter(channelsLast ? ConvolutionLayout.ToChannelsLast(randn(8, 4, 3, 3)) : randn(8, 4, 3, 3));
            Bias = new Parameter(randn(8));
            Matrix = new Parameter(randn(5, 8));
            Unused = new Parameter(randn(3));
        }
        public Parameter[] All => new[] { Conv, Bias, Matrix, Unused };
        public Tensor[] Moments(torch.optim.Optimizer opt) =>
            ((OptimizerHelper)opt).state_dict().State.SelectMany(s => s switch
            {
                Adam.State a => new[] { a.exp_avg, a.exp_avg_sq },
                AdamW.State w => new[] { w.exp_avg, w.exp_avg_sq },
                _ => throw new InvalidOperationException(),
            }).ToArray();
        /// <summary>Gradients of step <paramref name="step"/>, the same for every net: the conv weight's contiguous, Unused none.</summary>
        public void Grads(int step)
        {
            manual_seed(100 + step);
            Conv.grad = randn(8, 4, 3, 3);
            Bias.grad = randn(8);
            Matrix.grad = randn(5, 8) * 3;
        }
        public void Dispose() { foreach (var p in All) p.Dispose(); }
    }

    static torch.optim.Optimizer Build(bool fused, bool decoupled, Net net)
    {
        var groups = new[] { (new[] { net.Conv, net.Matrix }, 0.05), (new[] { net.Bias, net.Unused }, 0.0) };
        if (decoupled)
        {
            var g = groups.Select(x => new AdamW.ParamGroup(x.Item1, 0.01, 0.9, 0.99, 1e-6, x.Item2, false, false));
            return fused ? new GenSharp.Training.Fused.AdamW(g, 0.01, 0.9, 0.99, 1e-6, 0.05) : torch.optim.AdamW(g, 0.01, 0.9, 0.99, 1e-6, 0.05);
        }
        var a = groups.Select(x => new Adam.ParamGroup(x.Item1, 0.01, 0.9, 0.99, 1e-6, x.Item2, false, false));
        return fused ? new GenSharp.Training.Fused.Adam(a, 0.01, 0.9, 0.99, 1e-6, 0.05) : torch.optim.Adam(a, 0.01, 0.9, 0.99, 1e-6, 0.05);
    }

    static void Steps(torch.optim.Optimizer opt, Net net, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            net.Grads(i);
            foreach (var g in opt.ParamGroups) g.LearningRate = 0.01 * (1 + i % 3);      // a schedule
            opt.step();
        }
    }

    static void AssertClose(Tensor[] expected, Tensor[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double diff = (expected[i] - actual[i]).abs().max().item<float>();
            Assert.True(diff < 1e-5, $"tensor {i} differs by {diff}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusedStepsMatchTorchSharpsOptimizer(bool decoupled)
    {
        TorchRuntime.EnsureReady();
        using var a = new Net();
        using var b = new Net();
        using var reference = Build(fused: false, decoupled, a);
        using var fused = Build(fused: true, decoupled, b);
        Steps(reference, a, 0, 40);
        Steps(fused, b, 0, 40);
        AssertClose(a.All.Select(p => (Tensor)p).ToArray(), b.All.Select(p => (Tensor)p).ToArray());
        AssertClose(a.Moments(reference), b.Moments(fused));
        Assert.Equal(a.Unused.data<float>().ToArray(), b.Unused.data<float>().ToArray());   // no gradient: untouched
        var steps = ((OptimizerHelper)fused).state_dict().State.Select(s => s is Adam.State x ? x.step : ((AdamW.State)s).step).ToArray();
        Assert.Equal(new long[] { 40, 40, 40, 0 }, steps);                                     // Conv, Matrix, Bias, Unused
        Assert.False(b.Conv.is_contiguous());                                                  // still channels-last
        Assert.True((a.Conv - new Net().Conv).abs().max().item<float>() > 0.1, "the steps moved the weights");
    }

    /// <summary>State saved by TorchSharp's optimizer resumes in the fused one, and the fused one's saved state resumes exactly.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SavedStateResumes(bool decoupled)
    {
        TorchRuntime.EnsureReady();
        byte[] Save(torch.optim.Optimizer opt)
        {
            using var stream = new MemoryStream();
            using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true)) ((OptimizerHelper)opt).save_state_dict(w);
            return stream.ToArray();
        }
        void Load(torch.optim.Optimizer opt, byte[] bytes)
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            ((OptimizerHelper)opt).load_state_dict(r);
        }
        using var a = new Net(channelsLast: false);
        using var reference = Build(fused: false, decoupled, a);
        Steps(reference, a, 0, 10);
        var fromTorchSharp = Save(reference);
        using var b = new Net(channelsLast: false);
        using (no_grad()) foreach (var (to, from) in b.All.Zip(a.All)) to.copy_(from);
        using var fused = Build(fused: true, decoupled, b);
        Load(fused, fromTorchSharp);
        Steps(reference, a, 10, 20);
        Steps(fused, b, 10, 20);
        AssertClose(a.All.Select(p => (Tensor)p).ToArray(), b.All.Select(p => (Tensor)p).ToArray());

        var fromFused = Save(fused);                                                  // fused → fused: bit for bit
        using var c = new Net(channelsLast: false);
        using (no_grad()) foreach (var (to, from) in c.All.Zip(b.All)) to.copy_(from);
        using var again = Build(fused: true, decoupled, c);
        Load(again, fromFused);
        Steps(fused, b, 20, 25);
        Steps(again, c, 20, 25);
        foreach (var (x, y) in b.All.Zip(c.All)) Assert.Equal(x.data<float>().ToArray(), y.data<float>().ToArray());
    }

    [Fact]
    public void TheSpecBuildsTheFusedOptimizers()
    {
        TorchRuntime.EnsureReady();
        using var net = new Net(channelsLast: false);
        using var adam = OptimizerSpec.Single("a", OptimizerAlgorithm.Adam, net.All, 0.1).Build();
        using var adamw = OptimizerSpec.TransformerAdamW("w", net.All, 0.1, 0.1, 0.9, 0.95, LrSchedule.Constant, 1.0).Build();
        Assert.IsType<GenSharp.Training.Fused.Adam>(adam);
        Assert.IsType<GenSharp.Training.Fused.AdamW>(adamw);
    }
}
