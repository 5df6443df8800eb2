using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models;
using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Pretrained models in the Hugging Face layout: tiny random gpt2 / llama / qwen2 / mistral models are saved
/// with HF names and config keys, loaded through the public loader, and must give the in-memory model's logits;
/// the math is checked against independent formulas (RoPE as complex rotation, RMSNorm closed form, GQA = MHA
/// with repeated key/value heads).
/// </summary>
public class HfModelTests
{
    internal const int Vocab = 270;

    internal static JsonObject Gpt2Config(bool tied = true) => new()
    {
        ["model_type"] = "gpt2", ["vocab_size"] = Vocab, ["n_embd"] = 16, ["n_layer"] = 2, ["n_head"] = 2,
        ["n_positions"] = 32, ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new", ["tie_word_embeddings"] = tied,
        ["eos_token_id"] = 260,
    };

    internal static JsonObject LlamaConfig(string type = "llama", int heads = 4, int kvHeads = 4, bool tied = false) => new()
    {
        ["model_type"] = type, ["vocab_size"] = Vocab, ["hidden_size"] = 32, ["intermediate_size"] = 48,
        ["num_hidden_layers"] = 2, ["num_attention_heads"] = heads, ["num_key_value_heads"] = kvHeads,
        ["max_position_embeddings"] = 64, ["rms_norm_eps"] = 1e-6, ["rope_theta"] = 500.0, ["hidden_act"] = "silu",
        ["tie_word_embeddings"] = tied, ["rope_scaling"] = null, ["eos_token_id"] = new JsonArray(262, 260),
    };

    /// <summary>A model with random weights everywhere (norm gains near 1), rounded to <paramref name="storage"/> so a BF16/F16 file holds them exactly.</summary>
    internal static PretrainedLanguageModel RandomModel(JsonObject config, ScalarType storage = ScalarType.Float32, int seed = 1)
    {
        torch.manual_seed(seed);
        var m = new PretrainedLanguageModel(HfModelConfig.Parse(config, "config.json"), torch.CPU);
        using var _ = torch.no_grad();
        foreach (var (name, p) in m.Network.named_parameters())
        {
            bool gain = (name.Contains("norm") || name.Contains("ln_")) && name.EndsWith("weight");
            p.normal_(gain ? 1.0 : 0.0, gain ? 0.1 : 0.2);
            if (storage != ScalarType.Float32) p.copy_(p.to(storage).to(ScalarType.Float32));
        }
        return m;
    }

    /// <summary>
    /// Writes config.json + weights with HF names: gpt2's Conv1D matrices transposed to (in, out), without the
    /// "transformer." prefix when <paramref name="bareGpt2Names"/>; in <paramref name="shards"/> files with an index when > 1.
    /// </summary>
    internal static string Save(PretrainedLanguageModel m, JsonObject config, ScalarType storage = ScalarType.Float32,
        int shards = 1, bool bareGpt2Names = false, string? dir = null)
    {
        dir ??= TestData.TempDir();
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, p) in m.Network.named_parameters())
        {
            var t = p.detach().to(storage);
            string hfName = name;
            if (m.Config.IsGpt2)
            {
                if (new[] { "c_attn.weight", "attn.c_proj.weight", "c_fc.weight", "mlp.c_proj.weight" }.Any(s => name.EndsWith(s))) t = t.t().contiguous();
                if (!bareGpt2Names && name != "lm_head.weight") hfName = "transformer." + name;   // GPT2LMHeadModel's names
            }
            tensors[hfName] = t;
        }
        if (m.Config.IsGpt2) tensors[(bareGpt2Names ? "" : "transformer.") + "h.0.attn.bias"] = torch.ones(1, 1, 32, 32);   // old causal-mask buffer: ignored
        if (shards == 1) Safetensors.Save(Path.Combine(dir, "model.safetensors"), tensors);
        else
        {
            var map = new JsonObject();
            var names = tensors.Keys.ToList();
            for (int s = 0; s < shards; s++)
            {
                var file = $"model-{s + 1:00000}-of-{shards:00000}.safetensors";
                var part = names.Where((_, i) => i % shards == s).ToDictionary(n => n, n => tensors[n]);
                Safetensors.Save(Path.Combine(dir, file), part);
                foreach (var n in part.Keys) map[n] = file;
            }
            File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), new JsonObject { ["metadata"] = new JsonObject(), ["weight_map"] = map }.ToJsonString());
        }
        HfTokenizerTests.WriteTokenizer(dir);
        return dir;
    }

    static Tensor Tokens(int b, int t, int seed = 3)
    {
        var g = new torch.Generator((ulong)seed);
        return torch.randint(0, Vocab, new long[] { b, t }, generator: g, dtype: ScalarType.Int64);
    }

    static void AssertLoadedEqual(PretrainedLanguageModel m, string dir, double atol = 1e-5)
    {
        using var loaded = Checkpoint.LoadTextModel(dir, torch.CPU);
        Assert.True(loaded.Pretrained);
        Assert.Equal(m.Config.ModelType, loaded.Name);
        using var x = Tokens(2, 9);
        using var expected = m.Logits(x);
        using var got = loaded.Model.Logits(x);
        Assert.Equal(expected.shape, got.shape);
        double diff = (expected - got).abs().max().item<float>();
        Assert.True(diff < atol, $"max |Δlogit| = {diff}");
        Assert.True(expected.abs().max().item<float>() > 0.1);          // not a trivially zero model
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void InferenceFreesEachLayersTemporariesSoDepthAddsNoLiveTensors(string type)
    {
        // Each block runs in its own dispose scope without gradients: what the caller's scope holds after a forward pass must
        // not grow with the number of layers (it did: a 60-token prefill of a 30-layer model held ~400 MB of temporaries).
        int Left(int layers)
        {
            var config = type == "llama" ? LlamaConfig() : Gpt2Config();
            config[type == "llama" ? "num_hidden_layers" : "n_layer"] = layers;
            using var m = RandomModel(config);
            using var tokens = torch.randint(0, Vocab, new long[] { 2, 12 });
            using var cache = m.Network.CreateCache();
            using var scope = torch.NewDisposeScope();
            m.Network.Logits(tokens, cache);
            m.Network.Logits(tokens.narrow(1, 0, 1), cache);                       // one cached decode step too
            return scope.DisposablesCount;
        }
        int shallow = Left(2), deep = Left(8);
        Assert.Equal(shallow, deep);

        using var trained = RandomModel(type == "llama" ? LlamaConfig() : Gpt2Config());
        using var x = torch.randint(0, Vocab, new long[] { 1, 6 });
        using var loss = trained.Network.Forward(x).logsumexp(-1).mean();        // with gradients the blocks stay differentiable
        loss.backward();
        Assert.All(trained.Network.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void Gpt2TransposedConv1DRoundTrip()
    {
        var config = Gpt2Config();
        using var m = RandomModel(config);
        AssertLoadedEqual(m, Save(m, config));
    }

    [Fact]
    public void Gpt2BareNamesF16RoundTrip()
    {
        var config = Gpt2Config();
        using var m = RandomModel(config, ScalarType.Float16);
        AssertLoadedEqual(m, Save(m, config, ScalarType.Float16, bareGpt2Names: true));
    }

    [Fact]
    public void Gpt2UntiedHeadRoundTrip()
    {
        var config = Gpt2Config(tied: false);
        using var m = RandomModel(config);
        AssertLoadedEqual(m, Save(m, config));
    }

    [Fact]
    public void Gpt2ConfigMapsToGptConfig()
    {
        var c = Gpt2Config(tied: false);
        c["layer_norm_epsilon"] = 1e-6;
        var expected = new GptConfig
        {
            NLayer = 2, NHead = 2, NEmbd = 16, BlockSize = 32, VocabSize = Vocab, Bias = true, Dropout = 0,
            LayerNormEpsilon = 1e-6, Activation = GptActivation.GeluTanh, TieWordEmbeddings = false,
        };
        Assert.Equal(expected, HfModelConfig.Parse(c, "config.json").ToGptConfig());
        c["activation_function"] = "gelu";
        c["tie_word_embeddings"] = null;                                    // absent: tied, as Hugging Face's default
        Assert.Equal(expected with { Activation = GptActivation.Gelu, TieWordEmbeddings = true }, HfModelConfig.Parse(c, "config.json").ToGptConfig());
        c["n_inner"] = 48;
        Assert.Contains("n_inner", Assert.Throws<GenSharpException>(() => HfModelConfig.Parse(c, "config.json")).Message);
        c["n_inner"] = 64;                                                  // 4·n_embd written out
        Assert.Equal(16, HfModelConfig.Parse(c, "config.json").ToGptConfig().NEmbd);
    }

    [Fact]
    public void LlamaUntiedShardedRoundTrip()
    {
        var config = LlamaConfig();
        using var m = RandomModel(config);
        var dir = Save(m, config, shards: 3);
        Assert.False(File.Exists(Path.Combine(dir, "model.safetensors")));
        AssertLoadedEqual(m, dir);
    }

    [Fact]
    public void Qwen2BiasesGqaTiedBf16RoundTrip()
    {
        var config = LlamaConfig("qwen2", heads: 4, kvHeads: 2, tied: true);
        using var m = RandomModel(config, ScalarType.BFloat16);
        var names = m.Network.state_dict().Keys.ToList();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        Assert.DoesNotContain("lm_head.weight", names);
        Assert.Equal(new long[] { 2 * 8, 32 }, m.Network.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape);
        AssertLoadedEqual(m, Save(m, config, ScalarType.BFloat16));
    }

    [Fact]
    public void MissingAndMisshapedWeightsAreNamed()
    {
        var config = LlamaConfig();
        using var m = RandomModel(config);
        var dir = Save(m, config);
        var other = (JsonObject)config.DeepClone();
        other["intermediate_size"] = 40;
        File.WriteAllText(Path.Combine(dir, "config.json"), other.ToJsonString());
        var e = Assert.Throws<GenSharpException>(() => Checkpoint.LoadTextModel(dir, torch.CPU));
        Assert.Contains("mlp.gate_proj.weight", e.Message);
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("model.safetensors", Assert.Throws<GenSharpException>(() => Checkpoint.LoadTextModel(dir, torch.CPU)).Message);
    }

    [Fact]
    public void ConfigRefusesWhatItCannotRun()
    {
        var c = LlamaConfig();
        c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 };
        Assert.Contains("rope_scaling", Assert.Throws<GenSharpException>(() => HfModelConfig.Parse(c, "config.json")).Message);
        c = LlamaConfig();
        c["model_type"] = "phi3";
        Assert.Contains("phi3", Assert.Throws<GenSharpException>(() => HfModelConfig.Parse(c, "config.json")).Message);
        c = LlamaConfig(heads: 4, kvHeads: 3);
        Assert.Contains("num_key_value_heads", Assert.Throws<GenSharpException>(() => HfModelConfig.Parse(c, "config.json")).Message);
        c = LlamaConfig();
        c["hidden_act"] = "gelu";
        Assert.Contains("hidden_act", Assert.Throws<GenSharpException>(() => HfModelConfig.Parse(c, "config.json")).Message);
        // Mistral's sliding window caps the context (attention is exact within it).
        c = LlamaConfig("mistral");
        c["sliding_window"] = 16;
        Assert.Equal(16, HfModelConfig.Parse(c, "config.json").ContextLength);
        c["sliding_window"] = null;
        Assert.Equal(64, HfModelConfig.Parse(c, "config.json").ContextLength);
        // Defaults of the keys that may be absent.
        var q = HfModelConfig.Parse(LlamaConfig("qwen2"), "config.json");
        Assert.True(q.QkvBias);
        Assert.False(q.OutputBias);
        Assert.Equal(8, q.HeadDim);
    }

    [Fact]
    public void Llama3RopeScalingBands()
    {
        var c = LlamaConfig();
        c["rope_scaling"] = new JsonObject
        {
            ["rope_type"] = "llama3", ["factor"] = 8.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 64,
        };
        var s = HfModelConfig.Parse(c, "config.json").RopeScaling!;
        double high = 2 * Math.PI / 8, low = 2 * Math.PI / 128, mid = 2 * Math.PI / 32;   // wavelengths 8 (< 16), 128 (> 64), 32
        Assert.Equal(high, s.Apply(high), 12);
        Assert.Equal(low / 8, s.Apply(low), 12);
        double smooth = (64.0 / 32 - 1) / (4 - 1);
        Assert.Equal((1 - smooth) * mid / 8 + smooth * mid, s.Apply(mid), 12);
    }

    [Fact]
    public void RopeEqualsComplexRotation()
    {
        int d = 8, t = 5;
        double theta = 100;
        var rope = new RotaryEmbedding(d, theta);
        torch.manual_seed(4);
        using var x = torch.randn(1, 1, t, d);
        var (cos, sin) = rope.Tables(3, t, torch.CPU);
        using var y = RotaryEmbedding.Apply(x, cos, sin);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (int p = 0; p < t; p++)
            for (int i = 0; i < d / 2; i++)
            {
                // Pair (i, i + D/2) as the complex number x_i + i·x_{i+D/2}, turned by (3 + p)·θ^(−2i/D).
                var z = new System.Numerics.Complex(xs[p * d + i], xs[p * d + i + d / 2])
                        * System.Numerics.Complex.FromPolarCoordinates(1, (3 + p) * Math.Pow(theta, -2.0 * i / d));
                Assert.Equal(z.Real, ys[p * d + i], 4);
                Assert.Equal(z.Imaginary, ys[p * d + i + d / 2], 4);
            }
        cos.Dispose();
        sin.Dispose();
    }

    [Fact]
    public void RmsNormClosedForm()
    {
        using var norm = new RmsNorm(4, 1e-6);
        using (torch.no_grad()) norm.parameters().First().copy_(torch.tensor(new float[] { 1, 2, 0.5f, -1 }));
        using var x = torch.tensor(new float[] { 1, -2, 3, 0.5f }).view(1, 4);
        var y = norm.forward(x).data<float>().ToArray();
        double rms = Math.Sqrt((1 + 4 + 9 + 0.25) / 4 + 1e-6);
        var expected = new[] { 1 / rms * 1, -2 / rms * 2, 3 / rms * 0.5, 0.5 / rms * -1 };
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], y[i], 5);
    }

    [Fact]
    public void GqaEqualsMhaWithRepeatedKeyValueHeads()
    {
        using var gqa = RandomModel(LlamaConfig(heads: 4, kvHeads: 2));
        using var mha = new PretrainedLanguageModel(HfModelConfig.Parse(LlamaConfig(heads: 4, kvHeads: 4), "config.json"), torch.CPU);
        var src = gqa.Network.state_dict();
        using (torch.no_grad())
            foreach (var (name, p) in mha.Network.state_dict())
            {
                var s = src[name];
                if (name.Contains("k_proj") || name.Contains("v_proj"))
                {
                    // kv head j serves query heads 2j and 2j + 1: repeat each head's 8 rows twice.
                    s = s.view(2, 8, -1).repeat_interleave(2, 0).reshape(p.shape);
                }
                p.copy_(s);
            }
        using var x = Tokens(2, 7);
        using var a = gqa.Logits(x);
        using var b = mha.Logits(x);
        Assert.True((a - b).abs().max().item<float>() < 1e-5);
        Assert.True(a.abs().max().item<float>() > 0.1);
    }

    [Fact]
    public void LlamaCacheEqualsRecompute()
    {
        using var m = RandomModel(LlamaConfig("qwen2", heads: 4, kvHeads: 2));
        using var x = Tokens(2, 12);
        using var full = m.Logits(x);
        using var cache = m.CreateCache();
        var steps = new List<Tensor> { m.Logits(x.narrow(1, 0, 5), cache) };                     // prefill 5, then 2 + 1 × 5
        steps.Add(m.Logits(x.narrow(1, 5, 2), cache));
        for (int i = 7; i < 12; i++) steps.Add(m.Logits(x.narrow(1, i, 1), cache));
        using var cached = torch.cat(steps.ToArray(), 1);
        Assert.True((full - cached).abs().max().item<float>() < 1e-4);
        Assert.Equal(12, cache.Length);

        // Greedy decoding with the cache equals full recompute, token for token.
        var tok = HfTokenizer.Load(HfTokenizerTests.WriteTokenizer(TestData.TempDir()), Vocab);
        var gen = new TextGenerator(m, tok);
        var o = new GenerationOptions { MaxNewTokens = 20, Temperature = 0 };
        var withCache = gen.Generate(new[] { "the cat" }, o)[0];
        var without = gen.Generate(new[] { "the cat" }, o with { UseCache = false })[0];
        Assert.Equal(without.Text, withCache.Text);
        Assert.Equal(without.GeneratedTokens, withCache.GeneratedTokens);
    }

    [Fact]
    public void CacheGrowsBeyondItsFirstAllocation()
    {
        // The cache starts at 256 tokens and doubles; the values written before growing survive it.
        using var cache = new KvCache(1, 1000);
        using var k1 = torch.randn(1, 2, 200, 4);
        cache.Append(0, k1, k1);
        cache.Advance(200);
        using var k2 = torch.randn(1, 2, 100, 4);
        var (k, _, _) = cache.Append(0, k2, k2);
        Assert.Equal(300, k.shape[2]);
        Assert.True(k.narrow(2, 0, 200).allclose(k1, 0, 0));
        Assert.True(k.narrow(2, 200, 100).allclose(k2, 0, 0));
    }

    [Fact]
    public void GenerationStopsAtEndOfSequenceAndAddsBos()
    {
        var dir = HfTokenizerTests.WriteTokenizer(TestData.TempDir(), addBos: true);
        var tok = HfTokenizer.Load(dir, Vocab, new[] { 262 });
        Assert.True(tok.AddBosToken);
        Assert.Equal(260, tok.BosTokenId);
        var model = new ScriptedModel(eosAfter: 4);
        var gen = new TextGenerator(model, tok);
        var r = gen.Generate(new[] { "", "ab" }, new GenerationOptions { MaxNewTokens = 50, Temperature = 0 });
        Assert.Equal("x", r[0].Text.Distinct().Single().ToString());
        Assert.Equal("stop", r[0].FinishReason);
        Assert.Equal(1, r[0].PromptTokens);                                 // only BOS
        Assert.Equal(3, r[0].Text.Length);                                  // positions 1..3 are x, position 4 is EOS
        Assert.Equal(4, r[0].GeneratedTokens);
        Assert.Equal("stop", r[1].FinishReason);
        Assert.Equal("x", r[1].Text);                                       // BOS + a + b, then x, then EOS
        var capped = gen.Generate(new[] { "" }, new GenerationOptions { MaxNewTokens = 2, Temperature = 0 })[0];
        Assert.Equal("length", capped.FinishReason);
        var past = gen.Generate(new[] { "" }, new GenerationOptions { MaxNewTokens = 10, Temperature = 0, IgnoreEos = true })[0];
        Assert.Equal(("length", 10), (past.FinishReason, past.GeneratedTokens));   // benchmarks decode through EOS
    }

    /// <summary>Predicts 'x' until the sequence is <c>eosAfter</c> long, then token 262 (EOS).</summary>
    sealed class ScriptedModel(int eosAfter) : ILanguageModel
    {
        public int ContextLength => 64;
        public int VocabSize => Vocab;
        public Device Device => torch.CPU;
        public KvCache CreateCache() => new(1, ContextLength);
        public SlotKvCache CreateSlotCache(int slots) => new(1, slots, ContextLength);
        public double Loss(Tensor inputs, Tensor targets) => 0;

        public Tensor Logits(Tensor tokens, IKvCache? cache = null, bool lastOnly = false)
        {
            long b = tokens.shape[0], t = tokens.shape[1];
            int length = cache?.End(t) ?? (int)t;
            cache?.Advance((int)t);
            var logits = torch.zeros(b, 1, Vocab);
            logits[.., .., length >= eosAfter ? 262 : 'x'] = torch.tensor(10f);
            return logits;
        }
    }
}
