using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using GenSharp.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class BertTests
{
    internal static readonly BertConfig Tiny = new()
    {
        NumHiddenLayers = 2, NumAttentionHeads = 2, HiddenSize = 16, IntermediateSize = 32, MaxPositionEmbeddings = 12,
        VocabSize = 24, PadTokenId = 20, ClsTokenId = 21, SepTokenId = 22, MaskTokenId = 23, Dropout = 0,
    };

    internal static BertModel Build(BertConfig? c = null, long seed = 0)
    {
        TorchRuntime.EnsureReady();
        torch.manual_seed(seed);
        return new BertModel(c ?? Tiny, torch.CPU);
    }

    [Fact]
    public void NamesAreHuggingFaceBertForMaskedLmAndShapesFollowTheConfig()
    {
        using var m = Build();
        var names = ModuleState.Collect(m.Model).Keys.ToHashSet();
        foreach (var n in new[] { "bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
                     "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.bias",
                     "bert.encoder.layer.1.attention.self.query.weight", "bert.encoder.layer.0.attention.output.LayerNorm.weight",
                     "bert.encoder.layer.0.intermediate.dense.weight", "bert.encoder.layer.0.output.dense.bias",
                     "bert.pooler.dense.weight", "cls.predictions.bias", "cls.predictions.transform.dense.weight",
                     "cls.predictions.transform.LayerNorm.weight" })
            Assert.Contains(n, names);
        Assert.DoesNotContain(names, n => n.Contains("decoder"));   // the output matrix is the tied embedding
        // Parameters: embeddings (24 + 12 + 2)·16 + LN 32; a layer 4·(16·16+16) + 2·32 + 16·32+32 + 32·16+16; pooler 16·16+16;
        // head 16·16+16 + 32 + 24.
        long layer = 4 * (16 * 16 + 16) + 2 * 32 + (16 * 32 + 32) + (32 * 16 + 16);
        Assert.Equal((24 + 12 + 2) * 16 + 32 + 2 * layer + (16 * 16 + 16) + (16 * 16 + 16 + 32 + 24), m.ParameterCount);
        using var x = torch.randint(0, 20, new long[] { 3, 7 }, dtype: ScalarType.Int64);
        using var h = m.Network.Encoder.Forward(x);
        Assert.Equal(new long[] { 3, 7, 16 }, h.shape);
        Assert.Equal(new long[] { 3, 7, 24 }, m.Network.MlmLogits(h).shape);
        Assert.Equal(new long[] { 3, 16 }, m.Network.Encoder.Pool(h).shape);
        using var tooLong = torch.zeros(1, 13, dtype: ScalarType.Int64);
        Assert.Contains("12 positions", Assert.Throws<GenSharpException>(() => m.Network.Encoder.Forward(tooLong)).Message);
        Assert.Contains("hidden_size", Assert.Throws<GenSharpException>(() => (Tiny with { HiddenSize = 15 }).Validate()).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LayerMatchesAttentionWrittenOut(bool preLn)
    {
        // One layer against softmax(QKᵀ/√d)V and the FFN written out with plain matrix products, per head.
        var c = Tiny with { NumHiddenLayers = 1, PreLayerNorm = preLn };
        using var m = Build(c, seed: 3);
        var p = ModuleState.Collect(m.Model);
        using var _ = torch.no_grad();
        m.Model.eval();
        using var tokens = torch.tensor(new long[] { 21, 3, 7, 1, 22 }).unsqueeze(0);
        var h = m.Network.Encoder.Forward(tokens)[0];                                            // (T, C)
        // Embeddings, independently.
        Tensor LN(Tensor v, string n) => (v - v.mean(new long[] { -1 }, keepdim: true)) / (v.var(-1, unbiased: false, keepdim: true) + c.LayerNormEps).sqrt()
                                         * p[n + ".weight"] + p[n + ".bias"];
        Tensor Lin(Tensor v, string n) => v.matmul(p[n + ".weight"].t()) + p[n + ".bias"];
        var e = p["bert.embeddings.word_embeddings.weight"].index_select(0, tokens[0]) + p["bert.embeddings.position_embeddings.weight"][..5]
                + p["bert.embeddings.token_type_embeddings.weight"][0];
        var x = LN(e, "bert.embeddings.LayerNorm");
        const string L = "bert.encoder.layer.0.";
        Tensor Attn(Tensor v)
        {
            var q = Lin(v, L + "attention.self.query"); var k = Lin(v, L + "attention.self.key"); var vv = Lin(v, L + "attention.self.value");
            var heads = new List<Tensor>();
            for (int i = 0; i < 2; i++)
            {
                var s = (i * 8)..((i + 1) * 8);
                var w = (q[.., s].matmul(k[.., s].t()) / Math.Sqrt(8)).softmax(-1);
                heads.Add(w.matmul(vv[.., s]));
            }
            return Lin(torch.cat(heads.ToArray(), 1), L + "attention.output.dense");
        }
        Tensor Ffn(Tensor v) => Lin(Lin(v, L + "intermediate.dense").gelu(), L + "output.dense");
        Tensor expected;
        if (!preLn)
        {
            var a = LN(x + Attn(x), L + "attention.output.LayerNorm");
            expected = LN(a + Ffn(a), L + "output.LayerNorm");
        }
        else
        {
            var a = x + Attn(LN(x, L + "attention.output.LayerNorm"));
            expected = LN(a + Ffn(LN(a, L + "output.LayerNorm")), "bert.encoder.final_layer_norm");
        }
        Assert.True(h.allclose(expected, rtol: 0, atol: 1e-5), $"max diff {(h - expected).abs().max().item<float>()}");
    }

    [Fact]
    public void PaddingIsNotAttendedAndEveryTokenSeesBothSides()
    {
        using var m = Build(seed: 5);
        using var _ = torch.no_grad();
        m.Model.eval();
        using var x = torch.tensor(new long[] { 21, 4, 5, 6, 22 }).unsqueeze(0);
        var h = m.Network.Encoder.Forward(x);
        // The same tokens followed by padding, masked out: the first five states are unchanged.
        using var padded = torch.tensor(new long[] { 21, 4, 5, 6, 22, 20, 20, 9 }).unsqueeze(0);
        using var mask = torch.tensor(new long[] { 1, 1, 1, 1, 1, 0, 0, 0 }).unsqueeze(0);
        var hp = m.Network.Encoder.Forward(padded, mask);
        Assert.True(hp[.., ..5].allclose(h, rtol: 0, atol: 1e-5));
        // Unmasked, the later tokens change the first state: attention is bidirectional.
        var hu = m.Network.Encoder.Forward(padded);
        Assert.False(hu[0, 0].allclose(h[0, 0], rtol: 0, atol: 1e-4));
    }

    [Fact]
    public void MaskingChoosesFifteenPercentThenEightyTenTen()
    {
        TorchRuntime.EnsureReady();
        using var gen = new torch.Generator(7);
        const int limit = 5000;
        using var tokens = torch.randint(0, limit, new long[] { 200, 500 }, generator: gen, dtype: ScalarType.Int64);
        using var maskable = torch.ones(200, 500, dtype: ScalarType.Bool);
        maskable[.., ..50] = false;                                                    // 10% of positions may never be chosen
        var (inputs, targets) = MlmMasking.Apply(tokens, maskable, 0.15, maskId: limit, randomLimit: limit, generator: gen);
        var chosen = targets.ne(MlmMasking.Ignore);
        double n = chosen.sum().item<long>();
        double maskableCount = 200 * 450;
        Assert.InRange(n / maskableCount, 0.145, 0.155);                              // ±4σ of a binomial with 90,000 trials
        Assert.Equal(0, chosen[.., ..50].sum().item<long>());
        Assert.True(targets.masked_select(chosen).eq(tokens.masked_select(chosen)).all().item<bool>());   // targets are the originals
        Assert.True(inputs.masked_select(chosen.logical_not()).eq(tokens.masked_select(chosen.logical_not())).all().item<bool>());
        double masked = inputs.eq(limit).logical_and(chosen).sum().item<long>();
        double kept = inputs.eq(tokens).logical_and(chosen).sum().item<long>();
        double random = n - masked - kept;
        Assert.InRange(masked / n, 0.79, 0.81);
        Assert.InRange(kept / n, 0.09, 0.11);                                           // a random draw equal to the original (p = 1/5000) counts here
        Assert.InRange(random / n, 0.09, 0.11);
        Assert.True(inputs.lt(limit + 1).all().item<bool>());
    }

    static string SmallText(int chars)
    {
        var path = Path.Combine(TestData.TempDir(), "text.txt");
        var source = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "data", "tinyshakespeare.txt");
        File.WriteAllText(path, File.ReadAllText(source)[..chars]);
        return path;
    }

    [Fact]
    public void TrainsFromTextThroughTheTrainerAndTheCheckpointRoundTrips()
    {
        TorchRuntime.EnsureReady();
        var data = SmallText(40_000);
        var dir = TestData.TempDir();
        var r = TrainingRun.Run(new TrainRequest
        {
            Family = "bert", OutDir = dir, Data = data, Steps = 120, BatchSize = 16, Seed = 1,
            Sets = new[] { "num_hidden_layers=2", "hidden_size=32", "intermediate_size=64", "learning_rate=0.002", "max_position_embeddings=34",
                           "warmup_steps=10", "eval_interval=120", "eval_iters=4", "dropout=0" },
        }, TrainingProgress.Silent);
        Assert.Equal(120, r.Step);
        double first = r.Losses.Take(10).Average(), last = r.Losses.TakeLast(10).Average();
        Assert.True(last < first - 0.4, $"MLM loss {first:F3} → {last:F3}");
        Assert.True(r.LastMetrics["mlm_accuracy"] > 0.1, $"accuracy {r.LastMetrics["mlm_accuracy"]}");

        using var loaded = Checkpoint.LoadModel(dir, torch.CPU);
        var bert = Assert.IsType<BertModel>(loaded.Model);
        var c = (BertConfig)bert.Config;
        var tokenizer = Checkpoint.Open(dir).ReadTokenizer();
        Assert.Equal(tokenizer.VocabSize + 4, c.VocabSize);
        Assert.Equal((tokenizer.VocabSize, tokenizer.VocabSize + 3), (c.PadTokenId, c.MaskTokenId));
        // The loaded weights give the trained model's state: the same evaluation loss from a second load ...
        using var again = Checkpoint.LoadModel(dir, torch.CPU);
        using var windows = torch.tensor(tokenizer.Encode(File.ReadAllText(data)[^4000..]).Take(32 * 64).Select(i => (long)i).ToArray()).view(64, 32);
        var e1 = bert.Evaluate(windows);
        var e2 = ((BertModel)again.Model).Evaluate(windows);
        Assert.Equal(e1, e2);
        // ... and well below the loss of untrained weights (≈ ln V ≈ 4.2).
        using var fresh = Build(c, seed: 9);
        var e0 = fresh.Evaluate(windows);
        Assert.Equal(e0.Count, e1.Count);                                                // the same fixed masks
        Assert.True(e1.Loss / e1.Count < e0.Loss / e0.Count - 0.3, $"trained {e1.Loss / e1.Count:F3}, fresh {e0.Loss / e0.Count:F3}");
        Assert.Equal(e1.Loss / e1.Count, bert.Loss(windows, windows), 4);
    }
}
