using GenSharp.Data;
using GenSharp.Models.Gan;
using GenSharp.Runtime;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class DcganTests
{
    static DcganConfig Tiny => new() { LatentDim = 8, GeneratorChannels = 4, DiscriminatorChannels = 4 };

    static Dictionary<string, Tensor> Snapshot(nn.Module m) =>
        m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void OneStepUpdatesBothNetworks(bool conditional, bool spectral)
    {
        TorchRuntime.Seed(0);
        using var model = new DcganModel(Tiny with { Conditional = conditional, SpectralNorm = spectral }, torch.CPU);
        using var runner = new StepRunner(model);
        var g0 = Snapshot(model.Networks.Generator);
        var d0 = Snapshot(model.Networks.Discriminator);
        var (im, lb) = new BatchLoader(TestData.Train, 16, 0).GetBatch(0);
        var m = runner.Step(im, lb);
        Assert.All(new[] { "g_loss", "d_loss", "d_real", "d_fake" }, k => Assert.True(double.IsFinite(m[k])));
        Assert.InRange(m["d_real"], 0, 1);
        foreach (var (name, p) in model.Networks.Generator.named_parameters())
            Assert.True((p.detach() - g0[name]).abs().max().item<float>() > 0, $"generator {name} did not change");
        foreach (var (name, p) in model.Networks.Discriminator.named_parameters())
            Assert.True((p.detach() - d0[name]).abs().max().item<float>() > 0, $"discriminator {name} did not change");
    }

    [Fact]
    public void ConditioningChangesTheOutput()
    {
        TorchRuntime.Seed(1);
        using var model = new DcganModel(Tiny with { Conditional = true }, torch.CPU);
        using var _ = torch.no_grad();
        model.Networks.eval();
        using var z = torch.randn(4, 8);
        using var a = model.Networks.Generator.forward(z, torch.zeros(4, dtype: ScalarType.Int64));
        using var b = model.Networks.Generator.forward(z, torch.full(4, 7, dtype: ScalarType.Int64));
        Assert.True((a - b).abs().max().item<float>() > 1e-4);
        using var x = torch.rand(4, 1, 28, 28);
        var da = model.Networks.Discriminator.forward(x, torch.zeros(4, dtype: ScalarType.Int64));
        var db = model.Networks.Discriminator.forward(x, torch.full(4, 7, dtype: ScalarType.Int64));
        Assert.True((da - db).abs().max().item<float>() > 1e-6);
    }

    [Fact]
    public void SamplesAreSeededAndFollowTheClass()
    {
        TorchRuntime.Seed(2);
        using var model = new DcganModel(Tiny with { Conditional = true }, torch.CPU);
        Tensor Draw(long cls) { torch.manual_seed(5); return model.Sample(6, torch.full(6, cls, dtype: ScalarType.Int64))!; }
        using var a = Draw(0);
        using var again = Draw(0);
        using var other = Draw(1);
        Assert.Equal(new long[] { 6, 1, 28, 28 }, a.shape);
        Assert.True(a.equal(again).all().item<bool>());                                               // the same seed draws the same images
        Assert.True((a - other).abs().max().item<float>() > 1e-4);                    // the same z with another class differs
        Assert.True(a.std().item<float>() > 1e-4);                                    // not a constant image
        // The generator's own output is tanh-bounded: strictly inside (−1, 1) before the mapping to [0, 1].
        using var z = torch.randn(6, Tiny.LatentDim);
        using var raw = model.Networks.Generator.forward(z, torch.zeros(6, dtype: ScalarType.Int64));
        Assert.True(raw.abs().max().item<float>() < 1);
    }

    [Fact]
    public void SpectralNormDividesByTheLargestSingularValue()
    {
        TorchRuntime.Seed(3);
        using var conv = new SpectralNormConv2d(3, 5, 3, 1, 1);
        conv.train();
        Tensor w = null!;
        for (int i = 0; i < 200; i++) w = conv.NormalizedWeight(); // power iteration converges
        using var _ = torch.no_grad();
        var sigma = torch.linalg.svdvals(w.flatten(1))[0].item<float>();
        Assert.Equal(1.0, sigma, 3);
        var names = conv.state_dict().Keys.ToHashSet();
        Assert.Contains("weight_orig", names);
        Assert.Contains("weight_u", names);
        Assert.Contains("weight_v", names);
    }
}
