using System.Text.Json.Nodes;
using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Decoding steps run as one TorchScript call for the block stack (ScriptedDecode) give the eager path's logits and
/// greedy tokens, for every decoder layout: llama with full and grouped-query attention, qwen2's q/k/v biases, gpt2's fused
/// c_attn with LayerNorm biases and GELU by tanh, widths where the products are cut into per-thread blocks with rows left
/// over; int8 and int4 projections; and a slot cache whose rows sit at different positions (continuous batching).
/// </summary>
public class ScriptedDecodeTests
{
    static JsonObject Wide(JsonObject c, int hidden, int intermediate)
    {
        c["hidden_size"] = hidden;
        c["intermediate_size"] = intermediate;
        return c;
    }

    public static TheoryData<string> Layouts => new() { "llama", "llama-gqa", "qwen2", "gpt2", "llama-wide" };

    static JsonObject Config(string layout) => layout switch
    {
        "llama" => HfModelTests.LlamaConfig(),
        "llama-gqa" => HfModelTests.LlamaConfig(heads: 4, kvHeads: 2, tied: true),
        "qwen2" => HfModelTests.LlamaConfig("qwen2", heads: 4, kvHeads: 2),
        "gpt2" => HfModelTests.Gpt2Config(),
        // 301 MLP rows over 2 threads: two blocks of 150 and one row left over; 256-wide q/o: two blocks of 128
        "llama-wide" => Wide(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2), 256, 301),
        _ => throw new ArgumentException(layout),
    };

    /// <summary>Prefill of <paramref name="rows"/> prompts, then <paramref name="steps"/> greedy steps: the logits of every step and the tokens.</summary>
    static (List<Tensor> Logits, List<long[]> Tokens) Decode(PretrainedLanguageModel m, int rows, int steps)
    {
        var logits = new List<Tensor>();
        var tokens = new List<long[]>();
        using var cache = m.CreateCache();
        using var prompt = torch.arange(rows * 5, dtype: ScalarType.Int64).view(rows, 5).remainder(HfModelTests.Vocab);
        var next = m.Logits(prompt, cache, lastOnly: true);                                   // (B, 1, V)
        for (int i = 0; i < steps; i++)
        {
            using var ids = next.argmax(-1);                                                  // (B, 1)
            tokens.Add(ids.reshape(-1).data<long>().ToArray());
            next.Dispose();
            next = m.Logits(ids, cache, lastOnly: true);
            logits.Add(next.clone());
        }
        next.Dispose();
        return (logits, tokens);
    }

    /// <summary>Greedy decoding of 1 and of 3 rows, eager then scripted: the same logits (within float rounding) and tokens at every step.</summary>
    static void AssertScriptedEqualsEager(PretrainedLanguageModel m, string label, int steps)
    {
        foreach (int rows in new[] { 1, 3 })
        {
            m.Network.ScriptedDecoding = false;
            var (eager, eagerTokens) = Decode(m, rows, steps);
            m.Network.ScriptedDecoding = true;
            long before = ScriptedDecode.BlockCalls;
            var (scripted, scriptedTokens) = Decode(m, rows, steps);
            Assert.True(ScriptedDecode.BlockCalls - before >= steps * m.Config.Layers, "the scripted path was not taken");
            for (int i = 0; i < eager.Count; i++)
            {
                double diff = (eager[i] - scripted[i]).abs().max().item<float>();
                Assert.True(diff < 1e-4, $"{label}, {rows} rows, step {i}: max |Δlogit| = {diff}");
                Assert.True(eager[i].abs().max().item<float>() > 0.1);
                Assert.Equal(eagerTokens[i], scriptedTokens[i]);
            }
            foreach (var t in eager.Concat(scripted)) t.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Scripted_steps_equal_eager_ones(string layout)
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);                                                             // the per-thread blocks are exercised
        try
        {
            using var m = HfModelTests.RandomModel(Config(layout));
            AssertScriptedEqualsEager(m, layout, 6);
        }
        finally { torch.set_num_threads(threads); }
    }

    // llama-gqa: no biases; gpt2: biases everywhere; qwen2: biases on q, k and v only
    public static TheoryData<string, int> QuantizedLayouts => new()
    {
        { "llama-gqa", 8 }, { "llama-gqa", 4 }, { "gpt2", 8 }, { "gpt2", 4 }, { "qwen2", 8 }, { "qwen2", 4 },
    };

    [Theory]
    [MemberData(nameof(QuantizedLayouts))]
    public void Scripted_steps_of_quantized_projections_equal_eager_ones(string layout, int bits)
    {
        var config = Config(layout);
        if (layout == "gpt2") config["n_embd"] = 32; else config["intermediate_size"] = 64;    // widths the int4 groups of 32 divide
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);                                   // one-row steps run on one thread (OneThreadHere), and give it back
        try
        {
            using var m = HfModelTests.RandomModel(config);
            GenSharp.Models.Quantization.QuantizedDecoder.Quantize(m.Network, GenSharp.Models.Quantization.QuantizationSpec.Create(bits, bits == 4 ? 32 : null));
            AssertScriptedEqualsEager(m, $"{layout} int{bits}", 5);
            Assert.Equal(2, torch.get_num_threads());
        }
        finally { torch.set_num_threads(threads); }
    }

    /// <summary>
    /// An int8 folder loads with q, k, v and gate, up joined: its scripted steps equal its eager ones, and both equal the
    /// same quantization held as separate layers (the joined kernel call computes each part's rows alike).
    /// </summary>
    [Theory]
    [InlineData("llama-gqa")]
    [InlineData("qwen2")]
    public void Scripted_steps_of_joined_int8_layers_equal_eager_ones_and_the_separate_layers(string layout)
    {
        var config = Config(layout);
        config["intermediate_size"] = 64;
        using var separate = HfModelTests.RandomModel(config);
        var source = HfModelTests.Save(separate, config);
        var spec = GenSharp.Models.Quantization.QuantizationSpec.Create(8, null);
        var folder = Path.Combine(TestData.TempDir(), "q8");
        GenSharp.Checkpoints.QuantizedCheckpoint.Write(source, folder, spec);
        GenSharp.Models.Quantization.QuantizedDecoder.Quantize(separate.Network, spec);
        var (joined, _) = HfModelFolder.Load(folder, torch.CPU);
        using var _ = joined;
        var parts = joined.Network.NamedProjections().Select(p => p.Projection).OfType<GenSharp.Models.Quantization.Int8Linear>().ToList();
        Assert.Equal(5 * joined.Network.Layers, parts.Count(p => p.Joint is not null));               // q, k, v, gate, up of each block
        Assert.Equal(2 * joined.Network.Layers, parts.Count(p => p.Joint is null));                   // o and down
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);
        try
        {
            AssertScriptedEqualsEager(joined, $"{layout} joined int8", 5);
            foreach (int rows in new[] { 1, 3 })
            {
                var (a, ta) = Decode(joined, rows, 4);
                var (b, tb) = Decode(separate, rows, 4);
                for (int i = 0; i < a.Count; i++)
                {
                    double diff = (a[i] - b[i]).abs().max().item<float>();
                    Assert.True(diff < 1e-5, $"{layout}, {rows} rows, step {i}: joined and separate layers differ by {diff}");
                    Assert.Equal(tb[i], ta[i]);
                }
                foreach (var t in a.Concat(b)) t.Dispose();
            }
        }
        finally { torch.set_num_threads(threads); }
    }

    /// <summary>Three slots at lengths 7, 3 and 5 decoding together, then the middle pair alone (rows not at the front).</summary>
    [Theory]
    [InlineData("llama-gqa")]
    [InlineData("gpt2")]
    public void Scripted_steps_over_a_slot_cache_with_rows_at_different_positions_equal_eager_ones(string layout)
    {
        using var m = HfModelTests.RandomModel(Config(layout));
        List<Tensor> Run(bool scripted)
        {
            m.Network.ScriptedDecoding = scripted;
            var outputs = new List<Tensor>();
            using var cache = m.CreateSlotCache(4);
            int[] lengths = { 7, 3, 5 };
            for (int slot = 0; slot < 3; slot++)
            {
                cache.Select(slot, 1);
                using var prompt = torch.arange(lengths[slot], dtype: ScalarType.Int64).view(1, -1).add(slot * 11).remainder(HfModelTests.Vocab);
                m.Logits(prompt, cache, lastOnly: true).Dispose();
            }
            using var ids = torch.tensor(new long[] { 5, 9, 13 }, dtype: ScalarType.Int64).view(3, 1);
            for (int step = 0; step < 3; step++)
            {
                cache.Select(0, 3);
                outputs.Add(m.Logits(ids, cache, lastOnly: true));
            }
            cache.Select(1, 2);
            using var two = ids.narrow(0, 1, 2);
            outputs.Add(m.Logits(two, cache, lastOnly: true));
            return outputs;
        }
        var eager = Run(false);
        long before = ScriptedDecode.BlockCalls;
        var scripted = Run(true);
        Assert.True(ScriptedDecode.BlockCalls - before >= 4 * m.Config.Layers, "the scripted path was not taken");
        for (int i = 0; i < eager.Count; i++)
        {
            double diff = (eager[i] - scripted[i]).abs().max().item<float>();
            Assert.True(diff < 1e-4, $"{layout}, step {i}: max |Δlogit| = {diff}");
            Assert.True(eager[i].abs().max().item<float>() > 0.1);
        }
        foreach (var t in eager.Concat(scripted)) t.Dispose();
    }

    [Fact]
    public void A_replaced_projection_keeps_the_stack_eager()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig());
        m.Network.ReplaceProjections((name, p) => name.EndsWith("layers.0.mlp.up_proj") ? nn.Sequential(("inner", p)) : null);
        long before = ScriptedDecode.BlockCalls;
        var (_, tokens) = Decode(m, 1, 3);
        Assert.Equal(3, tokens.Count);
        Assert.Equal(before, ScriptedDecode.BlockCalls);                                      // a stand-in the script does not know
        // and the result is that of a fully eager network
        m.Network.ScriptedDecoding = false;
        var (_, eagerTokens) = Decode(m, 1, 3);
        Assert.Equal(eagerTokens, tokens);
    }
}
