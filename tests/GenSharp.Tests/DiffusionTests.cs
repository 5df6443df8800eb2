using GenSharp.Models.Diffusion;
using GenSharp.Runtime;
using GenSharp.Sampling;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class DiffusionTests
{
    static DdpmConfig Tiny => new()
    {
        ImageSize = 8, BaseChannels = 8, ChannelMult = new[] { 1, 2 }, ResBlocks = 1, AttentionResolutions = new[] { 4 },
        AttentionHeads = 2, NormGroups = 4, Timesteps = 20, SamplerSteps = 5, NumClasses = 3,
    };

    [Fact]
    public void DebugForwardIsFinite()
    {
        TorchRuntime.Seed(1);
        using var scope = torch.NewDisposeScope();
        using var model = new DdpmModel(new DdpmConfig(), torch.CPU);
        var x = torch.randn(4, 1, 28, 28);
        var t = torch.tensor(new long[] { 0, 10, 500, 999 });
        var s = model.Schedule;
        var xt = s.AddNoise(x, torch.randn_like(x), t);
        Assert.True(xt.isfinite().all().item<bool>(), "addnoise");
        var emb = TimeEmbedding.Sinusoidal(t, 32);
        Assert.True(emb.isfinite().all().item<bool>(), "emb");
        foreach (var (name, p) in model.Network.named_parameters())
            Assert.True(p.isfinite().all().item<bool>(), "param " + name);
        var gn = nn.GroupNorm(2, 8);
        Assert.True(gn.forward(torch.randn(3, 8, 5, 5)).isfinite().all().item<bool>(), "gn " + gn.weight!.str() + gn.bias!.str());
        var q = torch.randn(2, 2, 5, 4); var k = torch.randn(2, 2, 5, 4); var v = torch.randn(2, 2, 5, 4);
        var manual = torch.softmax(q.matmul(k.transpose(-2, -1)) / 2.0, -1).matmul(v);
        var fused = nn.functional.scaled_dot_product_attention(q, k, v);
        Assert.True(fused.isfinite().all().item<bool>(), "sdpa contiguous " + fused.str());
        Assert.True((fused - manual).abs().max().item<float>() < 1e-5, "sdpa mismatch");
        var emb2 = torch.randn(4, 128);
        using var rb = new ResBlock(1, 8, 128, 1, 0);
        Assert.True(rb.Forward(xt, emb2).isfinite().all().item<bool>(), "resblock");
        using var ab = new AttentionBlock(8, 2, 4);
        var ax = ab.Forward(torch.randn(4, 8, 7, 7));
        Assert.True(ax.isfinite().all().item<bool>(), "attn");
        var out1 = model.Predict(xt, t, null);
        Assert.True(out1.isfinite().all().item<bool>(), "out");
        var loss = model.Loss(x, torch.zeros(4, dtype: ScalarType.Int64));
        Assert.True(loss.isfinite().item<bool>(), "loss " + loss.item<float>());
    }
}
