using GenSharp.Models.Gpt;
using GenSharp.Models.Lora;
using GenSharp.Models.Quantization;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>int8 layers joined into one packed matrix (q, k, v; gate, up) against the same layers packed apart.</summary>
public class Int8JoinTests
{
    static readonly long[] Rows = { 24, 8, 8 };
    const long K = 40;

    /// <summary>Codes, scales and biases of three layers (or none) and the same three as separate layers.</summary>
    static (List<(Tensor, Tensor, Tensor?)> Saved, Int8Linear[] Separate) Layers(bool bias)
    {
        var gen = new torch.Generator(11);
        var saved = Rows.Select(n =>
        {
            var (q, s) = WeightQuantizer.QuantizeInt8(torch.randn(new[] { n, K }, generator: gen) * 0.1);
            return (q, s, bias ? (Tensor?)torch.randn(new[] { n }, generator: gen) : null);
        }).ToList();
        var separate = saved.Select(l => new Int8Linear(l.q, l.s, l.Item3)).ToArray();
        return (saved.Select(l => (l.q.clone(), l.s, l.Item3)).ToList(), separate);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Joined_parts_give_the_separate_layers_outputs_to_the_bit(bool bias)
    {
        var (saved, separate) = Layers(bias);
        var parts = Int8Linear.Join(saved);
        Assert.All(parts, p => Assert.Same(parts[0].Joint, p.Joint));
        Assert.Equal(new long[] { 0, 24, 32 }, parts.Select(p => p.JointOffset));
        using var _ = torch.no_grad();
        foreach (long rows in new long[] { 1, 5 })                                  // one row: quantized as is; several: by rows
        {
            using var x = torch.randn(new[] { 2, rows, K }, generator: new torch.Generator((ulong)rows));
            var together = Projection.Joined(x, parts);
            for (int i = 0; i < parts.Length; i++)
            {
                using var expected = separate[i].forward(x);
                Assert.Equal(expected.shape, together[i].shape);
                Assert.True(together[i].allclose(expected, rtol: 0, atol: 0), $"part {i}, {rows} rows: joined differs by {(together[i] - expected).abs().max().item<float>()}");
                using var alone = parts[i].forward(x);                             // a part called on its own
                Assert.True(alone.allclose(expected, rtol: 0, atol: 0));
                Assert.True(expected.abs().max().item<float>() > 0.01);
            }
        }
        // Out of order, or missing one, they are not one joined call (each runs on its own).
        Assert.Null(Projection.JointOf(new nn.Module<Tensor, Tensor>[] { parts[1], parts[0], parts[2] }));
        Assert.Null(Projection.JointOf(new nn.Module<Tensor, Tensor>[] { parts[0], parts[1] }));
        Assert.Null(Projection.JointOf(new nn.Module<Tensor, Tensor>[] { separate[0], separate[1], separate[2] }));
        foreach (var l in separate.Concat(parts)) l.Dispose();
    }

    [Fact]
    public void Adapters_over_joined_parts_add_their_updates_to_one_joined_call_and_get_gradients()
    {
        var (saved, separate) = Layers(bias: false);
        var parts = Int8Linear.Join(saved);
        var q = new LoraLinear(parts[0], K, Rows[0], rank: 2, scaling: 2.0);
        var v = new LoraLinear(parts[2], K, Rows[2], rank: 2, scaling: 2.0);
        using (torch.no_grad())
        {
            q.B.normal_(generator: new torch.Generator(1));
            v.B.normal_(generator: new torch.Generator(2));
        }
        using var x = torch.randn(new[] { 1, 3, K }, generator: new torch.Generator(3)).requires_grad_();
        var joined = Projection.Joined(x, q, parts[1], v);
        var each = new[] { q.forward(x), parts[1].forward(x), v.forward(x) };
        for (int i = 0; i < 3; i++)
            Assert.True(joined[i].allclose(each[i], rtol: 1e-6, atol: 1e-6), $"projection {i} differs by {(joined[i] - each[i]).abs().max().item<float>()}");
        Assert.False(joined[0].allclose(separate[0].forward(x)));                   // the adapter's update is there

        joined.Select(t => t.square().sum()).Aggregate((a, b) => a + b).backward();
        Assert.NotNull(q.A.grad);
        Assert.NotNull(v.B.grad);
        Assert.True(q.A.grad!.abs().sum().item<float>() > 0);
        Assert.True(x.grad!.abs().sum().item<float>() > 0);                         // through the joined kernel's input gradient
        foreach (var l in separate) l.Dispose();
    }

    [Fact]
    public void The_joined_layer_lives_until_its_last_part_is_disposed()
    {
        var (saved, separate) = Layers(bias: true);
        var parts = Int8Linear.Join(saved);
        var joint = parts[0].Joint!;
        parts[0].Dispose();
        parts[0].Dispose();                                                          // twice: still one part's share
        parts[1].Dispose();
        using (var x = torch.randn(1, K))
        using (torch.no_grad())
        using (var y = parts[2].forward(x))
        using (var expected = separate[2].forward(x))
            Assert.True(y.allclose(expected, rtol: 0, atol: 0));
        using var probe = torch.randn(1, K);
        using (torch.no_grad()) joint.forward(probe).Dispose();                      // alive while a part is
        parts[2].Dispose();
        Assert.ThrowsAny<Exception>(() => { using var _ = torch.no_grad(); joint.forward(probe).Dispose(); });
        foreach (var l in separate) l.Dispose();
    }
}
