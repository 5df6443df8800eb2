using System.Text.Json.Nodes;
using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// The families' convolutions as this process runs them (oneDNN with channels-last weights, where the machine check
/// passed) against libtorch's native path: one training step's loss and every gradient. A convolution that escaped
/// <see cref="ConvolutionLayout"/> (a functional call with a weight computed in the forward pass, say) runs oneDNN's
/// blocked path, which on the machine that motivated the layout is wrong whenever channels are padded.
/// </summary>
public class ConvolutionLayoutTests(ITestOutputHelper output)
{
    [Fact]
    public void ChannelsLastKeepsValuesAndShapeAndPutsChannelsInnermost()
    {
        using var scope = torch.NewDisposeScope();
        foreach (var shape in new[] { new long[] { 4, 3, 5 }, new long[] { 6, 4, 3, 3 }, new long[] { 2, 5, 3, 4, 4 }, new long[] { 7, 7, 1, 1 } })
        {
            var t = torch.randn(shape);
            var last = ConvolutionLayout.ToChannelsLast(t);
            Assert.Equal(shape, last.shape);
            Assert.Equal(0f, (t - last).abs().max().item<float>());
            Assert.Equal(1, last.stride(1));
            Assert.True(ConvolutionLayout.IsChannelsLast(last), string.Join(",", last.stride()));
            if (shape[2] * shape[^1] > 1) Assert.False(ConvolutionLayout.IsChannelsLast(t));
        }
    }

    [Fact]
    public void InputLayoutOfFollowsTheWeightAndKeepsValuesAndGradients()
    {
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var conv = nn.Conv2d(32, 1, 3, padding: 1);
        var norm = nn.GroupNorm(8, 32);
        using (torch.no_grad()) { norm.weight!.uniform_(0.5, 1.5); norm.bias!.uniform_(-0.5, 0.5); }   // TorchSharp leaves them uninitialised
        var x = torch.randn(4, 32, 9, 9);

        // A default-layout weight: the activation comes back as it was, the same tensor.
        var plain = torch.randn(4, 32, 9, 9);
        Assert.Same(plain, ConvolutionLayout.InputLayoutOf(conv, plain));

        // The reference: the layer with its default-layout weight on libtorch's native kernels.
        Tensor referenceOut, referenceGrad;
        var x1 = x.clone().requires_grad_(true);
        using (TorchRuntime.NativeConvolutions())
        {
            referenceOut = conv.forward(nn.functional.silu(norm.forward(x1)));
            referenceOut.square().sum().backward();
        }
        referenceGrad = x1.grad!.clone();

        using (torch.no_grad()) conv.weight!.set_(ConvolutionLayout.ToChannelsLast(conv.weight!));
        Assert.True(ConvolutionLayout.IsChannelsLast(conv.weight!));
        var x2 = x.clone().requires_grad_(true);
        var normed = ConvolutionLayout.InputLayoutOf(conv, norm.forward(x2));
        Assert.True(ConvolutionLayout.IsChannelsLast(normed), string.Join(",", normed.stride()));
        Assert.Same(normed, ConvolutionLayout.InputLayoutOf(conv, normed));   // already channels-last: no copy
        var output = conv.forward(nn.functional.silu(normed));
        output.square().sum().backward();

        float outDiff = (output - referenceOut).abs().max().item<float>();
        Assert.True(outDiff < 1e-4f, $"the output differs by {outDiff}");
        Assert.True((x2.grad! - referenceGrad).abs().max().item<float>() < 1e-4f, "the input gradient changed");
        Assert.True(x2.grad!.is_contiguous(), "the gradient should come back in the input's default layout");
    }

    [Theory]
    [InlineData("vae", "{}")]
    [InlineData("dcgan", "{\"spectral_norm\": true}")]
    [InlineData("dcgan", "{}")]
    [InlineData("glow", "{}")]
    [InlineData("realnvp", "{}")]
    [InlineData("pixelcnn", "{\"channels\": 24}")]
    [InlineData("ddpm", "{}")]
    // EBM with a 10-step Langevin chain. Measured on a Zen 3 host (the same before and after unrelated changes): chains
    // of 1 and 10 steps agree to 5e-6 and 7e-6, the default 60 steps differ by 5e-3 in the first layer's gradient — the
    // rounding of the two paths amplified along a long chain of clipped gradient steps, not one convolution's error.
    [InlineData("ebm", "{\"langevin_steps\": 10}")]
    [InlineData("classifier", "{}")]
    public void OneTrainingStepMatchesTheNativeConvolutions(string name, string json)
    {
        if (!TorchRuntime.OneDnnConvolutions)
        {
            output.WriteLine($"oneDNN is off in this process ({TorchRuntime.OneDnnReason}): every convolution is native already");
            return;
        }
        var family = FamilyRegistry.Get(name);
        var config = family.ReadConfig(JsonNode.Parse(json)!.AsObject());
        var models = new IGenerativeModel[3];
        try
        {
            // Models 0 and 1 are built alike (channels-last weights) and stepped with oneDNN and natively: their
            // values must agree. Model 2 is built and stepped with oneDNN off, so no convolution goes through
            // ConvolutionLayout at all: it must get gradients for the same parameters (a layout copy that cut the
            // graph would leave one without). Its values are not compared: max-pooling breaks ties between equal
            // inputs by memory order, so a channels-last network may route a gradient to another of the tied inputs.
            for (int i = 0; i < 3; i++)
            {
                TorchRuntime.SetOneDnnConvolutions(i < 2);
                try { TorchRuntime.Seed(3); models[i] = family.Build(config, CPU); }
                finally { TorchRuntime.SetOneDnnConvolutions(true); }
            }
            // ddpm and pixelcnn keep their on-block convolutions in the default layout (oneDNN's blocked path; pixelcnn at
            // 24 channels has both kinds, its 48-channel links on the block); every other weight is channels-last.
            bool blockedOnBlock = name is "ddpm" or "pixelcnn";
            int blocked = 0;
            foreach (var (_, m) in models[0].Model.named_modules())
                if (m is TorchSharp.Modules.Convolution conv && ConvolutionLayout.ChannelsLast)
                {
                    if (blockedOnBlock && ConvolutionLayout.OnBlock(conv))
                    {
                        Assert.True(conv.weight!.is_contiguous(), $"{name}: an on-block {m.GetType().Name} weight is not in the default layout");
                        blocked++;
                    }
                    else Assert.True(ConvolutionLayout.IsChannelsLast(conv.weight!), $"{name}: a {m.GetType().Name} weight is not channels-last");
                }
            if (blockedOnBlock && ConvolutionLayout.ChannelsLast) Assert.True(blocked > 0, $"{name}: no convolution runs blocked");
            using var scope = torch.NewDisposeScope();
            var (x, y) = new BatchLoader(TestData.Train, 8, 3, shuffle: false, dropLast: true).GetBatch(0);
            var withOneDnn = LossAndGradients(models[0], x, y, oneDnn: true);
            var native = LossAndGradients(models[1], x, y, oneDnn: false);
            var nativeWorld = LossAndGradients(models[2], x, y, oneDnn: false);
            Assert.Equal(nativeWorld.Count, withOneDnn.Count);            // every parameter that gets a gradient natively gets one
            Assert.Equal(nativeWorld.Count, native.Count);
            // Each tensor against its own size, but no finer than a thousandth of the largest gradient: a bias whose
            // gradient is a sum that nearly cancels is rounding noise in both paths.
            double largest = native.Skip(1).Max(t => (double)t.abs().max().item<float>());
            double worst = 0;
            int worstAt = 0;
            for (int i = 0; i < native.Count; i++)
            {
                Assert.True(withOneDnn[i].isfinite().all().item<bool>(), $"{name}: tensor {i} of the oneDNN step is not finite");
                double scale = Math.Max(i == 0 ? 1e-3 : 1e-3 * largest, native[i].abs().max().item<float>());
                double d = (withOneDnn[i] - native[i]).abs().max().item<float>() / scale;
                if (d > worst) { worst = d; worstAt = i; }
            }
            output.WriteLine($"{name}: loss {native[0].item<float>():g6}; {native.Count - 1} gradients; worst relative difference {worst:g3} " +
                             $"(tensor {worstAt}, shape [{string.Join(",", native[worstAt].shape)}], largest |value| {native[worstAt].abs().max().item<float>():g3})");
            Assert.True(worst < 2e-3, $"{name}: the oneDNN step differs from the native one by {worst:g3} (relative)");
        }
        finally
        {
            foreach (var m in models) m?.Dispose();
        }
    }

    /// <summary>The first loss term of one training step and the gradients of its optimizer's parameters, all detached.</summary>
    static List<Tensor> LossAndGradients(IGenerativeModel model, Tensor x, Tensor y, bool oneDnn)
    {
        bool was = TorchRuntime.OneDnnConvolutions;
        TorchRuntime.SetOneDnnConvolutions(oneDnn);
        try
        {
            var trainable = model.Trainable();
            TorchRuntime.Seed(11);
            var term = trainable.TrainStep(x, y, new StepContext(0)).First();
            var parameters = trainable.OptimizerSpecs[term.Optimizer].Parameters.ToList();
            foreach (var p in parameters) p.grad?.zero_();
            term.Loss.backward();
            var result = new List<Tensor> { term.Loss.detach().clone() };
            result.AddRange(parameters.Where(p => p.grad is not null).Select(p => p.grad!.detach().clone()));
            return result;
        }
        finally { TorchRuntime.SetOneDnnConvolutions(was); }
    }
}
