using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>Projections of a decoder are found by their checkpoint names and can be replaced by modules that stand in for them.</summary>
public class ProjectionTests
{
    /// <summary>A stand-in that computes its dense layer's product and adds a constant, so a test sees it is called.</summary>
    sealed class Shifted : nn.Module<Tensor, Tensor>
    {
        readonly Linear _inner;
        readonly double _shift;
        public Shifted(Linear inner, double shift) : base(nameof(Shifted)) { (_inner, _shift) = (inner, shift); register_module("inner", inner); }
        protected override void RegisterComponents() { }
        public override Tensor forward(Tensor x) => _inner.forward(x) + _shift;
    }

    [Fact]
    public void Llama_projections_are_named_as_in_the_checkpoint_and_a_replacement_is_used()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2));
        var names = m.Network.NamedProjections().Select(p => p.Name).ToList();
        Assert.Equal(2 * 7, names.Count);
        Assert.Contains("model.layers.0.self_attn.q_proj", names);
        Assert.Contains("model.layers.1.mlp.down_proj", names);
        using var tokens = torch.tensor(new long[] { 5, 9, 200, 3 }).view(1, 4);
        using var before = m.Network.Logits(tokens);
        var keys = m.Network.state_dict().Keys.ToList();

        // The same dense layer wrapped with a zero shift: same logits, and the wrapped weight is now under "inner".
        int replaced = m.Network.ReplaceProjections((name, p) => name.EndsWith("v_proj") ? new Shifted((Linear)p, 0.0) : null);
        Assert.Equal(2, replaced);
        using (var same = m.Network.Logits(tokens)) Assert.True(same.allclose(before, rtol: 1e-5, atol: 1e-5));
        Assert.Contains("model.layers.0.self_attn.v_proj.inner.weight", m.Network.state_dict().Keys);
        Assert.DoesNotContain("model.layers.0.self_attn.v_proj.weight", m.Network.state_dict().Keys);
        Assert.Equal(keys.Count, m.Network.state_dict().Count);

        // A shift on o_proj of layer 1 changes the logits: the replacement is what the forward pass calls.
        m.Network.ReplaceProjections((name, p) => name == "model.layers.1.self_attn.o_proj" ? new Shifted((Linear)p, 0.5) : null);
        using var after = m.Network.Logits(tokens);
        Assert.False(after.allclose(before, rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void Gpt_projections_and_a_wrong_name_is_refused()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.Gpt2Config());
        var names = m.Network.NamedProjections().Select(p => p.Name).ToList();
        Assert.Equal(new[] { "h.0.attn.c_attn", "h.0.attn.c_proj", "h.0.mlp.c_fc", "h.0.mlp.c_proj" }, names.Take(4));
        var (_, host, _, projection) = m.Network.NamedProjections().First();
        Assert.Contains("c_attn", Assert.Throws<ArgumentException>(() => host.Replace("q_proj", projection)).Message);
    }
}
