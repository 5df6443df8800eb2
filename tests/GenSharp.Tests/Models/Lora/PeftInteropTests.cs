using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.Gpt;
using GenSharp.Models.Lora;
using GenSharp.Models.Pretrained;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// PEFT-format adapters written outside GenSharp (bench/pytorch/lora_reference.py: transformers' save_pretrained for the
/// base, PEFT's file layout by hand, expected logits from transformers over W + (α/r)·B·A merged in Python) give the same
/// logits in GenSharp: merged at load, and applied on the fly.
/// </summary>
public class PeftInteropTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lora", name);

    static (long[] Ids, double[][] Logits) Expected(string adapter)
    {
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(adapter), "expected.json")))!;
        return (j["tokens"]!.AsArray().Select(n => (long)n!.GetValue<int>()).ToArray(),
                j["logits"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray());
    }

    static void AssertClose(double[][] reference, Tensor logits, string what)
    {
        var got = logits.data<float>().ToArray();
        int v = reference[0].Length;
        Assert.Equal(reference.Length * v, got.Length);
        double worst = 0;
        for (int t = 0; t < reference.Length; t++)
            for (int i = 0; i < v; i++) worst = Math.Max(worst, Math.Abs(reference[t][i] - got[t * v + i]));
        Assert.True(worst < 1e-4, $"{what}: max |Δlogit| = {worst}");
    }

    [Theory, InlineData("llama"), InlineData("gpt2")]
    public void Adapter_folder_as_model_matches_transformers_with_the_update_merged_by_hand(string name)
    {
        var (ids, reference) = Expected(name + "-adapter");
        // The adapter's base_model_name_or_path is the sibling folder's name.
        using var m = Checkpoint.LoadTextModel(Fixture(name + "-adapter"), torch.CPU);
        Assert.Equal(Path.GetFullPath(Fixture(name)), Path.GetFullPath(m.Path));
        Assert.NotNull(m.Adapter);
        using var x = torch.tensor(ids, new long[] { 1, ids.Length });
        using var logits = m.Model.Logits(x);
        AssertClose(reference, logits, name + " merged at load");

        // Without the adapter the logits differ: the test would notice an adapter that is silently skipped.
        using var plain = Checkpoint.LoadTextModel(Fixture(name), torch.CPU);
        using var before = plain.Model.Logits(x);
        Assert.False(before.allclose(logits, rtol: 1e-3, atol: 1e-3));
    }

    [Theory, InlineData("llama"), InlineData("gpt2")]
    public void Adapter_applied_on_the_fly_matches_too(string name)
    {
        var (ids, reference) = Expected(name + "-adapter");
        using var m = Checkpoint.LoadTextModel(Fixture(name), torch.CPU);
        var network = (DecoderNetwork)m.Network!;
        using var peft = PeftAdapter.Load(Fixture(name + "-adapter"));
        peft.ApplyTo(network, PeftAdapter.ModulePrefix(name == "gpt2"));
        var adapters = LoraAdapters.Find(network);
        Assert.Equal(name == "gpt2" ? 6 : 8, adapters.Count);                 // gpt2: c_attn and both c_proj of 2 layers; llama: 4 targets × 2
        Assert.Equal(name == "gpt2" ? 6 / Math.Sqrt(2) : 8.0 / 4, adapters[0].Layer.Scaling, 6);   // rslora: α/√r
        using var x = torch.tensor(ids, new long[] { 1, ids.Length });
        using var logits = m.Model.Logits(x);
        AssertClose(reference, logits, name + " on the fly");
        // Token by token through the KV cache, where projections see one row (the dense base's few-row path).
        using var cache = m.Model.CreateCache();
        var rows = new List<Tensor>();
        for (int t = 0; t < ids.Length; t++) rows.Add(m.Model.Logits(x.narrow(1, t, 1), cache));
        using var stepped = torch.cat(rows, 1);
        AssertClose(reference, stepped, name + " on the fly, cached");
        foreach (var r in rows) r.Dispose();
    }

    [Fact]
    public void An_adapter_for_another_base_is_refused_with_one_line()
    {
        // The llama adapter over the gpt2 base: no such modules.
        var e = Assert.Throws<GenSharpException>(() => Checkpoint.LoadTextModel(Fixture("gpt2"), torch.CPU, Fixture("llama-adapter")));
        Assert.Contains("another base model", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        // Same names, other widths: a llama of twice the hidden size.
        using var wide = HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2));
        using var peft = PeftAdapter.Load(Fixture("llama-adapter"));
        var w = Assert.Throws<GenSharpException>(() => peft.ApplyTo(wide.Network, ""));
        Assert.Contains("features", w.Message);
    }
}
