using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Gpt;
using GenSharp.Runtime;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;
using GenSharp.Training;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

public class GptTests
{
    internal static readonly GptConfig Tiny = new() { NLayer = 2, NHead = 2, NEmbd = 16, BlockSize = 24, VocabSize = 11, WarmupSteps = 2, LrDecaySteps = 20 };

    internal static GptModel Build(GptConfig? c = null, long seed = 0)
    {
        TorchRuntime.EnsureReady();
        torch.manual_seed(seed);
        return new GptModel(c ?? Tiny, torch.CPU);
    }

    static Tensor Tokens(params long[] ids) => torch.tensor(ids).unsqueeze(0);

    [Fact]
    public void TensorNamesAreModulePathsAndTheHeadIsTied()
    {
        using var m = Build(Tiny with { Bias = true });
        var names = ModuleState.Collect(m.Model).Keys.ToHashSet();
        foreach (var n in new[] { "wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.attn.c_attn.weight", "h.0.attn.c_proj.bias",
                                  "h.1.ln_2.weight", "h.1.mlp.c_fc.weight", "h.1.mlp.c_proj.weight", "ln_f.weight" })
            Assert.Contains(n, names);
        Assert.DoesNotContain("steps_done", names);   // the step counter lives in the trainer state
        Assert.DoesNotContain(names, n => n.Contains("lm_head"));
        // Parameters: wte 11·16 + wpe 24·16 + 2 blocks × (ln 2·2·16 + attn 16·48+48 + 16·16+16 + mlp 16·64+64 + 64·16+16) + ln_f 2·16.
        long block = 2 * 2 * 16 + (16 * 48 + 48) + (16 * 16 + 16) + (16 * 64 + 64) + (64 * 16 + 16);
        Assert.Equal(11 * 16 + 24 * 16 + 2 * block + 2 * 16, m.ParameterCount);
        using var noBias = Build();
        Assert.DoesNotContain(ModuleState.Collect(noBias.Model).Keys, n => n.EndsWith(".bias"));
    }

    [Fact]
    public void UntiedHeadIsItsOwnMatrix()
    {
        using var tied = Build(Tiny, seed: 1);
        using var untied = Build(Tiny with { TieWordEmbeddings = false }, seed: 2);
        Assert.Contains("lm_head.weight", ModuleState.Collect(untied.Model).Keys);
        Assert.Equal(tied.ParameterCount + 11 * 16, untied.ParameterCount);
        // With lm_head = wte and every other weight copied, the untied network computes the tied one's logits ...
        var src = tied.Model.state_dict();
        using (torch.no_grad())
            foreach (var (n, p) in untied.Model.state_dict()) p.copy_(src[n == "lm_head.weight" ? "wte.weight" : n]);
        var x = Tokens(1, 2, 3, 4, 5);
        Assert.True(untied.Logits(x).allclose(tied.Logits(x), rtol: 0, atol: 1e-6));
        // ... and the head is read from lm_head, not from the embedding.
        using (torch.no_grad()) untied.Model.state_dict()["lm_head.weight"].mul_(2);
        using var h = tied.Logits(x) * 2;
        Assert.True(untied.Logits(x).allclose(h, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void NewConfigFieldsDefaultToThePreviousNetwork()
    {
        // config.json of a checkpoint written before layer_norm_epsilon, activation and tie_word_embeddings existed
        var json = ConfigJson.ToJson(new GptConfig { VocabSize = 5 });
        foreach (var key in new[] { "layer_norm_epsilon", "activation", "tie_word_embeddings" }) Assert.True(json.Remove(key), key);
        var c = (GptConfig)new GptFamily().ReadConfig(json);
        Assert.Equal((1e-5, GptActivation.Gelu, true), (c.LayerNormEpsilon, c.Activation, c.TieWordEmbeddings));
        ConfigJson.ApplyOverrides(json, typeof(GptConfig), new[] { "activation=gelu_tanh", "tie_word_embeddings=false" });
        Assert.Equal(c with { Activation = GptActivation.GeluTanh, TieWordEmbeddings = false }, ConfigJson.FromJson<GptConfig>(json));
        Assert.Contains("layer_norm_epsilon", Assert.Throws<GenSharpException>(() => (c with { LayerNormEpsilon = 0 }).Validate()).Message);
    }

    [Fact]
    public void InitFollowsGpt2()
    {
        using var m = Build(Tiny with { NEmbd = 64, NHead = 4, VocabSize = 200 });
        var p = ModuleState.Collect(m.Model);
        double Std(string n) => p[n].std().item<float>();
        Assert.InRange(Std("wte.weight"), 0.018, 0.022);
        Assert.InRange(Std("h.0.attn.c_attn.weight"), 0.018, 0.022);
        Assert.InRange(Std("h.0.mlp.c_proj.weight"), 0.9 * 0.02 / 2, 1.1 * 0.02 / 2);   // 0.02 / √(2·2)
        Assert.Equal(1.0f, p["h.0.ln_1.weight"].mean().item<float>());
    }

    [Fact]
    public void LogitsAtPositionTDoNotDependOnLaterTokens()
    {
        using var m = Build();
        var a = Tokens(1, 2, 3, 4, 5, 6, 7, 8);
        var b = Tokens(1, 2, 3, 4, 9, 0, 10, 1);                               // differs from position 4 on
        var la = m.Logits(a);
        var lb = m.Logits(b);
        Assert.True(la.narrow(1, 0, 4).allclose(lb.narrow(1, 0, 4), rtol: 0, atol: 1e-6));
        Assert.False(la.narrow(1, 4, 1).allclose(lb.narrow(1, 4, 1), rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void CachedForwardEqualsFullForwardAtEveryPosition()
    {
        using var m = Build();
        var ids = Tokens(3, 1, 4, 1, 5, 9, 2, 6, 5, 3);
        var full = m.Logits(ids);                                              // (1, 10, V)
        using var cache = m.CreateCache();
        var prefix = m.Logits(ids.narrow(1, 0, 4), cache);                     // prefill 4 tokens
        Assert.True(prefix.allclose(full.narrow(1, 0, 4), rtol: 0, atol: 1e-5));
        var chunk = m.Logits(ids.narrow(1, 4, 3), cache);                      // 3 tokens at once on top of a cache (explicit mask)
        Assert.True(chunk.allclose(full.narrow(1, 4, 3), rtol: 0, atol: 1e-5));
        for (int t = 7; t < 10; t++)
        {
            var one = m.Logits(ids.narrow(1, t, 1), cache);                    // one token at a time
            Assert.True(one.allclose(full.narrow(1, t, 1), rtol: 0, atol: 1e-5), $"position {t}");
        }
        Assert.Equal(10, cache.Length);
    }

    [Fact]
    public void KvCacheGreedyEqualsFullRecomputeGreedy()
    {
        using var m = Build(Tiny with { BlockSize = 64 }, seed: 3);
        var tok = CharTokenizer.Train("abcdefghij ");
        var gen = new TextGenerator(m, tok);
        var o = new GenerationOptions { Temperature = 0, MaxNewTokens = 40 };
        var cached = gen.Generate(new[] { "abc" }, o)[0];
        var full = gen.Generate(new[] { "abc" }, o with { UseCache = false })[0];
        Assert.Equal(40, cached.GeneratedTokens);
        Assert.Equal(full.Text, cached.Text);
        Assert.Equal("length", cached.FinishReason);
    }

    [Fact]
    public void DecodingPastTheContextKeepsGoing()
    {
        using var m = Build();                                                 // context 24
        var tok = CharTokenizer.Train("abcdefghij ");
        var r = new TextGenerator(m, tok).Generate(new[] { "abcdefghij abcdefghij abcdefghij" }, new GenerationOptions { MaxNewTokens = 60, Seed = 1 })[0];
        Assert.Equal(60, r.GeneratedTokens);
        Assert.Equal(24, r.PromptTokens);                                      // cropped to the context
    }

    [Fact]
    public void BatchRowsMatchSingleGenerationWithDifferentPromptLengths()
    {
        using var m = Build(Tiny with { BlockSize = 64 }, seed: 5);
        var tok = CharTokenizer.Train("abcdefghij ");
        var gen = new TextGenerator(m, tok);
        var o = new GenerationOptions { Temperature = 0, MaxNewTokens = 12 };
        var prompts = new[] { "ab", "hij abc", "f" };
        var batch = gen.Generate(prompts, o);
        for (int i = 0; i < prompts.Length; i++)
            Assert.Equal(gen.Generate(new[] { prompts[i] }, o)[0].Text, batch[i].Text);
    }

    [Fact]
    public void SaveLoadGivesIdenticalLogits()
    {
        using var m = Build();
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "model.safetensors");
        Safetensors.Save(path, ModuleState.Collect(m.Model));
        using var other = Build(seed: 99);
        var ids = Tokens(1, 2, 3, 4, 5);
        Assert.False(m.Logits(ids).allclose(other.Logits(ids)));
        using (var st = Safetensors.Load(path)) ModuleState.Load(other.Model, st.Tensors, path);
        Assert.True(m.Logits(ids).eq(other.Logits(ids)).all().item<bool>());
    }

    [Fact]
    public void TrainingStepsLowerTheLossOnARepeatedPattern()
    {
        using var m = Build(Tiny with { LearningRate = 1e-2, MinLearningRate = 1e-3 });
        using var runner = new StepRunner(m);
        var pattern = Enumerable.Range(0, 25).Select(i => (long)(i % 5)).ToArray();
        var x = torch.tensor(pattern[..24]).unsqueeze(0).expand(4, 24).contiguous();
        var y = torch.tensor(pattern[1..]).unsqueeze(0).expand(4, 24).contiguous();
        double first = m.Loss(x, y);
        Assert.InRange(first, Math.Log(11) - 0.3, Math.Log(11) + 0.3);        // near-uniform at init
        IReadOnlyDictionary<string, double> metrics = null!;
        for (int i = 0; i < 20; i++) metrics = runner.Step(x, y);
        Assert.True(m.Loss(x, y) < 0.5 * first, $"{first} → {m.Loss(x, y)}");
        Assert.Equal(20, runner.StepsDone);
        Assert.Contains("grad_norm", metrics.Keys);
    }

    [Fact]
    public void WeightDecayOnlyOnMatrices()
    {
        using var m = Build(Tiny with { Bias = true });
        using var runner = new StepRunner(m);
        var groups = runner.Optimizers[0].ParamGroups.Cast<TorchSharp.Modules.AdamW.ParamGroup>().ToList();
        Assert.Equal(2, groups.Count);
        var decayed = groups[0].Parameters.ToList();
        var plain = groups[1].Parameters.ToList();
        Assert.All(decayed, p => Assert.True(p.dim() >= 2));
        Assert.All(plain, p => Assert.True(p.dim() < 2));
        Assert.Equal(m.Model.parameters().Count(), decayed.Count + plain.Count);
        Assert.Equal(0.1, groups[0].Options.weight_decay);
        Assert.Equal(0.0, groups[1].Options.weight_decay);
    }

    [Fact]
    public void LearningRateWarmsUpThenFollowsTheCosine()
    {
        var c = new GptConfig { LearningRate = 1e-3, MinLearningRate = 1e-4, WarmupSteps = 10, LrDecaySteps = 110 };
        Assert.Equal(1e-3 * 1 / 11, GptModel.LearningRateAt(c, 0), 12);
        Assert.Equal(1e-3 * 10 / 11, GptModel.LearningRateAt(c, 9), 12);
        Assert.Equal(1e-3, GptModel.LearningRateAt(c, 10), 12);                // cos(0) = 1
        Assert.Equal(0.55e-3, GptModel.LearningRateAt(c, 60), 12);             // halfway: the mean of max and min
        Assert.Equal(1e-4, GptModel.LearningRateAt(c, 110), 12);
        Assert.Equal(1e-4, GptModel.LearningRateAt(c, 5000), 12);
    }

    [Fact]
    public void ConfigValidationNamesTheField()
    {
        string Message(GptConfig c) => Assert.Throws<GenSharpException>(c.Validate).Message;
        Assert.Contains("n_embd must be a multiple of n_head (3)", Message(new GptConfig { NHead = 3 }));
        Assert.Contains("dropout must be in [0, 1)", Message(new GptConfig { Dropout = 1 }));
        Assert.Contains("min_learning_rate", Message(new GptConfig { MinLearningRate = 0.1 }));
        Assert.Contains("bpe_vocab_size", Message(new GptConfig { BpeVocabSize = 100 }));
        Assert.Contains("vocab_size must be ≥ 1", Assert.Throws<GenSharpException>(() => new GptModel(new GptConfig(), torch.CPU)).Message);
        var json = ConfigJson.ToJson(new GptConfig());
        Assert.Equal("char", json["tokenizer"]!.GetValue<string>());
        Assert.Equal(4, json["n_layer"]!.GetValue<int>());
        ConfigJson.ApplyOverrides(json, typeof(GptConfig), new[] { "tokenizer=bpe", "n_embd=64" });
        Assert.Equal(new GptConfig { Tokenizer = TokenizerKind.Bpe, NEmbd = 64 }, ConfigJson.FromJson<GptConfig>(json));
    }

    [Fact]
    public void TextConfigsHaveNoImageFieldsAndOldCheckpointsStillRead()
    {
        var json = ConfigJson.ToJson(new GptConfig { VocabSize = 5 });
        Assert.False(json.ContainsKey("image_size"));
        Assert.False(json.ContainsKey("num_classes"));
        // config.json of a gpt checkpoint written while configs still carried the image fields
        json["image_channels"] = 1; json["image_size"] = 28; json["num_classes"] = 10;
        Assert.Equal(new GptConfig { VocabSize = 5 }, new GptFamily().ReadConfig(json));
        json["image_sizes"] = 28;                                             // anything else is still refused
        Assert.Contains("unknown config field", Assert.Throws<GenSharpException>(() => new GptFamily().ReadConfig(json)).Message);
        using var model = new GptModel(new GptConfig { VocabSize = 5, NLayer = 1, NEmbd = 8, NHead = 2, BlockSize = 4 }, torch.CPU);
        Assert.Contains("make text, not images", Assert.Throws<GenSharpException>(() => ImageFamilyConfig.Of(model)).Message);
    }
}
