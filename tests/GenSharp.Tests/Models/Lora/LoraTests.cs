using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Data;
using GenSharp.Models.Gpt;
using GenSharp.Models.Lora;
using GenSharp.Text;
using GenSharp.Text.Chat;
using GenSharp.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>LoRA adapters over a decoder's projections: the update's math, merging, training only the adapters, PEFT's format, chat labels.</summary>
public class LoraTests
{
    static readonly long[] Ids = { 5, 9, 200, 3, 17, 250, 64 };

    /// <summary>Fills every adapter's A and B with random values, so B·A is not zero.</summary>
    static void Randomize(DecoderNetwork network, int seed)
    {
        using var _ = torch.no_grad();
        var g = new torch.Generator((ulong)seed);
        foreach (var (_, layer) in LoraAdapters.Find(network))
        {
            layer.A.copy_(torch.randn(layer.A.shape, generator: g) * 0.3);
            layer.B.copy_(torch.randn(layer.B.shape, generator: g) * 0.3);
        }
    }

    [Fact]
    public void A_fresh_adapter_changes_nothing_and_on_the_fly_equals_merged_equals_weights_changed_by_hand()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2));
        using var x = torch.tensor(Ids, new long[] { 1, Ids.Length });
        using var before = m.Network.Logits(x);
        var weights = m.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var added = LoraAdapters.Apply(m.Network, new LoraConfig(4, 8, 0.1, new[] { "q_proj", "v_proj", "down_proj" }));
        Assert.Equal(6, added.Count);
        using (var fresh = m.Network.Logits(x)) Assert.True(fresh.allclose(before, rtol: 1e-6, atol: 1e-6));   // B = 0 at init
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", m.Network.state_dict().Keys);
        Assert.Contains("model.layers.0.self_attn.q_proj.base_layer.weight", m.Network.state_dict().Keys);

        Randomize(m.Network, 3);
        using var onTheFly = m.Network.Logits(x);
        Assert.False(onTheFly.allclose(before, rtol: 1e-3, atol: 1e-3));

        // Independent: a second copy of the base whose weights get W + 2·B·A by hand, no adapter modules at all.
        using var byHand = HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2));
        using (torch.no_grad())
        {
            var ps = byHand.Network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, layer) in LoraAdapters.Find(m.Network))
                ps[name + ".weight"].add_(layer.B.matmul(layer.A) * 2.0);
        }
        using var expected = byHand.Network.Logits(x);
        Assert.True(onTheFly.allclose(expected, rtol: 1e-4, atol: 1e-4), "on the fly vs weights changed by hand");

        Assert.Equal(6, LoraAdapters.Merge(m.Network));
        Assert.Empty(LoraAdapters.Find(m.Network));
        Assert.Equal(weights.Keys.OrderBy(k => k), m.Network.state_dict().Keys.OrderBy(k => k));      // the original names again
        using var merged = m.Network.Logits(x);
        Assert.True(merged.allclose(onTheFly, rtol: 1e-4, atol: 1e-4), "merged vs on the fly");
        foreach (var w in weights.Values) w.Dispose();
    }

    /// <summary>A stand-in for an int8 weight-only layer: int8 weights (out, in) and per-row scales; forward dequantizes.</summary>
    sealed class Int8Linear : nn.Module<Tensor, Tensor>
    {
        readonly Tensor weight, scale;
        public Int8Linear(Linear dense) : base(nameof(Int8Linear))
        {
            using var _ = torch.no_grad();
            scale = dense.weight!.abs().amax(new long[] { 1 }, keepdim: true) / 127;          // (out, 1)
            weight = (dense.weight / scale).round().to(ScalarType.Int8);
            register_buffer("weight", weight);
            register_buffer("scale", scale);
        }
        public long InFeatures => weight.shape[1];
        public long OutFeatures => weight.shape[0];
        public override Tensor forward(Tensor x) => nn.functional.linear(x, weight.to(ScalarType.Float32) * scale);
    }

    [Fact]
    public void Over_a_quantized_base_only_its_forward_is_used_and_merging_is_refused()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig(heads: 4, kvHeads: 2));
        m.Network.ReplaceProjections((_, p) => new Int8Linear((Linear)p));
        using var x = torch.tensor(Ids, new long[] { 1, Ids.Length });
        using var quantized = m.Network.Logits(x);
        LoraAdapters.Apply(m.Network, new LoraConfig(2, 4, 0, new[] { "q_proj", "o_proj" }));
        using (var fresh = m.Network.Logits(x)) Assert.True(fresh.allclose(quantized, rtol: 1e-6, atol: 1e-6));

        // Gradients reach A and B only (the quantized base has no parameters; norms and embeddings are frozen).
        m.Network.train();
        using var loss = m.Network.Forward(x).logsumexp(-1).mean();
        loss.backward();
        Assert.All(m.Network.parameters().Where(p => p.requires_grad), p => Assert.NotNull(p.grad));
        Assert.Equal(LoraAdapters.Parameters(m.Network).Count, m.Network.parameters().Count(p => p.requires_grad));
        Assert.True(LoraAdapters.Find(m.Network)[0].Layer.B.grad!.abs().sum().item<float>() > 0);
        Assert.Contains("merge into the unquantized model", Assert.Throws<GenSharpException>(() => LoraAdapters.Merge(m.Network)).Message);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void Quantized_layers_pass_the_input_gradient_of_their_dequantized_weights(int bits)
    {
        var config = HfModelTests.LlamaConfig(heads: 4, kvHeads: 2);
        config["intermediate_size"] = 64;
        using var m = HfModelTests.RandomModel(config);
        GenSharp.Models.Quantization.QuantizedDecoder.Quantize(m.Network, GenSharp.Models.Quantization.QuantizationSpec.Create(bits, null));
        var layer = m.Network.NamedProjections().First(p => p.Name.EndsWith("mlp.down_proj")).Projection;
        using var x = torch.randn(3, 64).requires_grad_(true);
        using var y = layer.forward(x);
        using var g = torch.randn(y.shape);
        y.backward(new[] { g });
        // independent: the layer's own weights read back through it (y(I) - y(0) = Wᵀ), then g·W
        using var _ = torch.no_grad();
        using var zero = layer.forward(torch.zeros(1, 64));
        using var w = (layer.forward(torch.eye(64)) - zero).t();                 // (N, K)
        using var want = g.mm(w);
        double scale = want.abs().max().item<float>();
        double diff = (x.grad! - want).abs().max().item<float>();
        Assert.True(diff < 0.02 * scale, $"max |Δgrad| = {diff} (scale {scale})");
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    public void Over_a_real_int8_or_int4_base_adapters_train_and_the_base_stays(int bits)
    {
        var config = HfModelTests.LlamaConfig(heads: 4, kvHeads: 2);
        config["intermediate_size"] = 64;                                     // int4 groups of 32 divide every input width
        using var m = HfModelTests.RandomModel(config);
        GenSharp.Models.Quantization.QuantizedDecoder.Quantize(m.Network, GenSharp.Models.Quantization.QuantizationSpec.Create(bits, null));
        using var x = torch.tensor(Ids, new long[] { 1, Ids.Length });
        using var quantized = m.Network.Logits(x);
        LoraAdapters.Apply(m.Network, new LoraConfig(2, 4, 0, new[] { "q_proj", "v_proj", "down_proj" }));
        using (var fresh = m.Network.Logits(x)) Assert.True(fresh.allclose(quantized, rtol: 1e-6, atol: 1e-6));

        // Gradients flow through the quantized layers to every adapter, and a step changes the output.
        m.Network.train();
        var adapters = LoraAdapters.Parameters(m.Network);
        using var opt = torch.optim.SGD(adapters, 0.5);
        using var loss = nn.functional.cross_entropy(m.Network.Forward(x).view(-1, HfModelTests.Vocab), torch.tensor(Ids).roll(-1));
        loss.backward();
        Assert.All(adapters, p => Assert.NotNull(p.grad));
        Assert.True(LoraAdapters.Find(m.Network).All(a => a.Layer.B.grad!.abs().sum().item<float>() > 0), "every B gets a gradient");
        opt.step();
        using var after = m.Network.Logits(x);
        Assert.False(after.allclose(quantized, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void Bad_targets_and_ranks_are_one_line_errors()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.LlamaConfig());
        var e = Assert.Throws<ParameterException>(() => LoraAdapters.Apply(m.Network, new LoraConfig(8, 16, 0, new[] { "q_proj", "query" })));
        Assert.Equal("target", e.Parameter);
        Assert.Contains("query", e.Detail);
        Assert.Contains("q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj", e.Detail);
        Assert.Equal("lora_r", Assert.Throws<ParameterException>(() => LoraAdapters.Apply(m.Network, new LoraConfig(0, 16, 0, new[] { "q_proj" }))).Parameter);
        Assert.Empty(LoraAdapters.Find(m.Network));
    }

    [Fact]
    public void Peft_names_and_config_round_trip()
    {
        using var m = HfModelTests.RandomModel(HfModelTests.Gpt2Config());
        var config = new LoraConfig(3, 6, 0.05, new[] { "c_attn" });
        LoraAdapters.Apply(m.Network, config);
        Randomize(m.Network, 5);
        using var x = torch.tensor(Ids, new long[] { 1, Ids.Length });
        using var expected = m.Network.Logits(x);
        var dir = TestData.TempDir();
        PeftAdapter.Save(dir, m.Network, config, "/models/gpt2", PeftAdapter.ModulePrefix(true), fanInFanOut: true);

        using (var st = Safetensors.Load(Path.Combine(dir, PeftAdapter.WeightsFile)))
        {
            Assert.Equal(new[] { "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
                                 "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight", "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight" },
                         st.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(new long[] { 3, 16 }, st.Tensors["base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"].shape);   // (r, in)
            Assert.Equal(new long[] { 48, 3 }, st.Tensors["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"].shape);   // (out, r)
            Assert.Equal("pt", st.Metadata["format"]);
        }
        var j = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftAdapter.ConfigFile)))!;
        Assert.Equal("LORA", j["peft_type"]!.GetValue<string>());
        Assert.Equal("CAUSAL_LM", j["task_type"]!.GetValue<string>());
        Assert.Equal(3, j["r"]!.GetValue<int>());
        Assert.Equal(6, j["lora_alpha"]!.GetValue<double>());
        Assert.Equal("none", j["bias"]!.GetValue<string>());
        Assert.True(j["fan_in_fan_out"]!.GetValue<bool>());
        Assert.Equal("/models/gpt2", j["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal(new[] { "c_attn" }, j["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));

        using var fresh = HfModelTests.RandomModel(HfModelTests.Gpt2Config());
        using var peft = PeftAdapter.Load(dir);
        Assert.Equal(config with { Targets = peft.Config.Targets }, peft.Config);
        peft.ApplyTo(fresh.Network, PeftAdapter.ModulePrefix(true));
        using var got = fresh.Network.Logits(x);
        Assert.True(got.allclose(expected, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Training_steps_change_only_the_adapters_and_resume_is_exact()
    {
        var data = Path.Combine(TestData.TempDir(), "text.txt");
        File.WriteAllText(data, string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 40)));
        string baseDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lora", "llama");
        FineTuneRequest Request(string outDir, long steps, bool resume = false) => new()
        {
            LrDecaySteps = 4,
            Model = baseDir, OutDir = outDir, Data = data, Rank = 2, Alpha = 4, Dropout = 0.1, Targets = new[] { "q_proj", "v_proj" },
            Steps = steps, LearningRate = 1e-2, BatchSize = 2, Context = 16, Seed = 7, CheckpointEvery = 2, Resume = resume,
        };
        var full = TestData.TempDir();
        var r = FineTuneRun.Run(Request(full, 4), TrainingProgress.Silent);
        Assert.Equal(4, r.Train.Step);
        Assert.Equal(2 * ((2 * 16 + 16 * 2) + (2 * 16 + 8 * 2)), r.TrainableParameters);          // 2 layers × (q: A 2×16, B 16×2; v: A 2×16, B 8×2)
        Assert.True(r.HeldOutLossAfter < r.HeldOutLossBefore, $"{r.HeldOutLossBefore} → {r.HeldOutLossAfter}");

        // The base is bit-identical; only adapter tensors were trained (B left zero).
        using var trained = Checkpoint.LoadTextModel(baseDir, torch.CPU);
        var network = (DecoderNetwork)trained.Network!;
        var original = network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var peft = PeftAdapter.Load(full);
        peft.ApplyTo(network, "");
        foreach (var (name, layer) in LoraAdapters.Find(network))
            Assert.True(((Linear)layer.Base).weight!.equal(original[name + ".weight"]).all().item<bool>(), name);
        Assert.All(LoraAdapters.Find(network), a => Assert.True(a.Layer.B.abs().sum().item<float>() > 0));
        using (var ck = Safetensors.Load(Path.Combine(full, "checkpoint", CheckpointFolder.ModelFile)))
            Assert.Equal(8, ck.Tensors.Count);                                                                              // the checkpoint holds only A and B

        // 2 steps, then resume to 4: the same adapter to the bit.
        var split = TestData.TempDir();
        FineTuneRun.Run(Request(split, 2), TrainingProgress.Silent);
        FineTuneRun.Run(Request(split, 4, resume: true), TrainingProgress.Silent);
        using var a = Safetensors.Load(Path.Combine(full, PeftAdapter.WeightsFile));
        using var b = Safetensors.Load(Path.Combine(split, PeftAdapter.WeightsFile));
        foreach (var (k, t) in a.Tensors) Assert.True(t.equal(b.Tensors[k]).all().item<bool>(), k);
        foreach (var t in original.Values) t.Dispose();
    }

    [Fact]
    public void Chat_labels_cover_the_assistant_replies_only()
    {
        var tokenizer = CharTokenizer.Train("System: User: Assistant: hi there\nhow are you? fine thanks.");
        var messages = new[] { ChatMessage.User("hi there"), ChatMessage.Assistant("fine"), ChatMessage.User("how are you?"), ChatMessage.Assistant("fine thanks.") };
        var (ids, labels) = ChatExamples.Tokenize(messages, ChatTemplates.Plain, tokenizer);
        Assert.Equal(tokenizer.Encode(ChatTemplates.Plain.Render(messages, addGenerationPrompt: false)), ids);
        string Decode(IEnumerable<int> t) => string.Concat(t.Select(i => System.Text.Encoding.UTF8.GetString(tokenizer.TokenBytes(i))));
        var trained = Decode(labels.Where(l => l != ChatExamples.Ignore));
        // After each "Assistant:" prompt: " reply\n" (the newline ends the turn, so the model learns to stop).
        Assert.Equal(" fine\n fine thanks.\n", trained);
        Assert.Equal(ChatExamples.Ignore, labels[0]);

        // Batches: targets are the labels shifted by one, padding ignored.
        var batches = new ExampleBatches(new[] { (ids, labels), (ids[..10], labels[..10]) }, 2, 200, 0);
        var (x, y) = batches.GetBatch(0);
        using (x) using (y)
        {
            Assert.Equal(new long[] { 2, ids.Length - 1 }, x.shape);
            var rows = y.data<long>().ToArray();
            int t = ids.Length - 1;
            // Whichever row holds the full example has its labels shifted by one; the other is the 10-token cut, padded.
            var full = rows.Take(t).SequenceEqual(labels.Skip(1).Select(l => (long)l)) ? rows.Take(t) : rows.Skip(t);
            var cut = rows.Take(t).SequenceEqual(labels.Skip(1).Select(l => (long)l)) ? rows.Skip(t) : rows.Take(t);
            Assert.Equal(labels.Skip(1).Select(l => (long)l), full);
            Assert.Equal(labels.Skip(1).Take(9).Select(l => (long)l).Concat(Enumerable.Repeat((long)ChatExamples.Ignore, t - 9)), cut);
        }
    }
}
