using System.Text.Json.Nodes;
using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Decoding steps run as TorchScript (ScriptedDecode) give the eager path's logits and greedy tokens, for every decoder
/// layout: llama with full and grouped-query attention, qwen2's q/k/v biases, gpt2's fused c_attn with LayerNorm biases
/// and GELU by tanh, and widths where the products are cut into per-thread blocks with rows left over.
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

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Scripted_steps_equal_eager_ones(string layout)
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(2);                                                             // the per-thread blocks are exercised
        try
        {
            using var m = HfModelTests.RandomModel(Config(layout));
            foreach (int rows in new[] { 1, 3 })
            {
                m.Network.ScriptedDecoding = false;
                var (eager, eagerTokens) = Decode(m, rows, 6);
                m.Network.ScriptedDecoding = true;
                long before = ScriptedDecode.BlockCalls;
                var (scripted, scriptedTokens) = Decode(m, rows, 6);
                Assert.True(ScriptedDecode.BlockCalls - before >= 6 * m.Config.Layers, "the scripted path was not taken");
                for (int i = 0; i < eager.Count; i++)
                {
                    double diff = (eager[i] - scripted[i]).abs().max().item<float>();
                    Assert.True(diff < 1e-4, $"{layout}, {rows} rows, step {i}: max |Δlogit| = {diff}");
                    Assert.True(eager[i].abs().max().item<float>() > 0.1);
                    Assert.Equal(eagerTokens[i], scriptedTokens[i]);
                }
                foreach (var t in eager.Concat(scripted)) t.Dispose();
            }
        }
        finally { torch.set_num_threads(threads); }
    }

    [Fact]
    public void A_replaced_projection_keeps_the_block_eager()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig());
        m.Network.ReplaceProjections((name, p) => name.EndsWith("layers.0.mlp.up_proj") ? nn.Sequential(("inner", p)) : null);
        var (_, tokens) = Decode(m, 1, 3);
        Assert.Equal(3, tokens.Count);
        // layer 1 still runs scripted, layer 0 eagerly: both give the same result as a fully eager network
        m.Network.ScriptedDecoding = false;
        var (_, eagerTokens) = Decode(m, 1, 3);
        Assert.Equal(eagerTokens, tokens);
    }
}
