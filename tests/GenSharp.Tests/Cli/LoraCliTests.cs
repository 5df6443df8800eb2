using System.Text.Json.Nodes;
using GenSharp.Models.Lora;
using GenSharp.Server;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>finetune → generate --adapter / merged model / eval / serve, and the one-line errors, through the CLI.</summary>
[Collection("Console")]
public class LoraCliTests
{
    static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "Lora", name);

    /// <summary>A chat set in the plain template's shape: the assistant always answers "ok <word>".</summary>
    static string ChatFile()
    {
        var path = Path.Combine(TestData.TempDir(), "chat.jsonl");
        var words = new[] { "apple", "river", "stone", "cloud", "green", "light", "north", "table" };
        File.WriteAllLines(path, Enumerable.Range(0, 40).Select(i =>
            new JsonObject
            {
                ["messages"] = new JsonArray(
                    new JsonObject { ["role"] = "user", ["content"] = $"say {words[i % words.Length]}" },
                    new JsonObject { ["role"] = "assistant", ["content"] = $"ok {words[i % words.Length]}" }),
            }.ToJsonString()));
        return path;
    }

    [Fact]
    public async Task Finetune_a_gpt_checkpoint_on_chat_then_generate_eval_merge_and_serve()
    {
        // A tiny gpt trained briefly on text that holds every character the chat uses.
        var text = Path.Combine(TestData.TempDir(), "t.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("User: say apple river stone cloud green light north table\nAssistant: ok\n", 30)));
        var root = TestData.TempDir();
        var gpt = Path.Combine(root, "gpt");
        var t = CliTests.Run("train", "gpt", "--data", text, "--out", gpt, "--steps", "4", "--batch-size", "4", "--set", "n_layer=1", "--set", "n_head=2",
            "--set", "n_embd=16", "--set", "block_size=32", "--set", "eval_interval=100", "--set", "eval_iters=1");
        Assert.True(t.Code == 0, t.Err);

        var tuned = Path.Combine(root, "gpt-chat");
        var f = CliTests.Run("finetune", gpt, "--data", ChatFile(), "--out", tuned, "--lora-r", "4", "--lora-alpha", "8", "--target", "c_attn,c_fc",
            "--steps", "30", "--lr", "1e-2", "--batch-size", "4", "--merge");
        Assert.True(f.Code == 0, f.Err);
        Assert.Contains("template plain", f.Out);
        Assert.True(File.Exists(Path.Combine(tuned, PeftAdapter.ConfigFile)));
        Assert.True(File.Exists(Path.Combine(tuned, PeftAdapter.WeightsFile)));
        Assert.True(File.Exists(Path.Combine(tuned, "merged", "model.safetensors")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(tuned, PeftAdapter.ConfigFile)))!;
        Assert.Equal(new[] { "c_attn", "c_fc" }, config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        using (var peft = PeftAdapter.Load(tuned))
            Assert.Contains("h.0.attn.c_attn", peft.Modules);                                   // GenSharp's own names as the module path
        var losses = File.ReadAllLines(Path.Combine(tuned, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).Where(m => m["loss"] is not null).ToList();
        Assert.True(losses[^1]["loss"]!.GetValue<double>() < losses[0]["loss"]!.GetValue<double>());

        // The adapter as the model, over the base with --adapter, and the merged folder: the same greedy text.
        string Greedy(params string[] model) =>
            CliTests.Run(model.Concat(new[] { "--prompt", "User: say stone\nAssistant:", "--max-tokens", "8", "--temperature", "0" }).Prepend("generate").ToArray()).Out
                .Split('\n').TakeWhile(l => !l.StartsWith('{')).Aggregate((a, b) => a + "\n" + b);
        var viaAdapter = Greedy(gpt, "--adapter", tuned);
        Assert.StartsWith("User: say stone\nAssistant:", viaAdapter);
        Assert.True(viaAdapter.Length > "User: say stone\nAssistant:".Length, viaAdapter);
        Assert.NotEqual(Greedy(gpt), viaAdapter);                                             // the adapter changes the model
        Assert.Equal(viaAdapter, Greedy(tuned));
        Assert.Equal(viaAdapter, Greedy(Path.Combine(tuned, "merged")));

        var e = CliTests.Run("eval", gpt, "--adapter", tuned, "--data", text);
        Assert.True(e.Code == 0, e.Err);
        var m = CliTests.Run("merge-adapter", tuned, "--out", Path.Combine(root, "merged2"));
        Assert.True(m.Code == 0, m.Err);
        Assert.Equal(viaAdapter, Greedy(Path.Combine(root, "merged2")));

        // serve: the adapter folder (its base_model_name_or_path is the gpt checkpoint) is a text model of its own name.
        using var registry = new ModelRegistry(root, torch.CPU, 4);
        Assert.Contains("gpt-chat", registry.List().Select(x => x.Name));
        Assert.Equal("text", ModelRegistry.KindOf(tuned));
        using var lease = await registry.AcquireAsync("gpt-chat", CancellationToken.None);
        Assert.True(lease.Model.IsText);
        Assert.NotNull(lease.Model.Loaded.Adapter);
    }

    [Fact]
    public void Finetune_errors_are_one_line()
    {
        var data = Path.Combine(TestData.TempDir(), "t.txt");
        File.WriteAllText(data, string.Concat(Enumerable.Repeat("some words to read. ", 100)));
        var llama = Fixture("llama");
        var bad = CliTests.Run("finetune", llama, "--data", data, "--out", TestData.TempDir(), "--target", "q_proj,query");
        CliTests.AssertOneLineError(bad, 1, "--target query: no such projection in this model; it has q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
        CliTests.AssertOneLineError(CliTests.Run("finetune", llama, "--data", data, "--out", TestData.TempDir(), "--lora-r", "0"), 1, "--lora-r must be ≥ 1, got 0");
        CliTests.AssertOneLineError(CliTests.Run("finetune", llama, "--out", TestData.TempDir()), 2, "needs --data");
        CliTests.AssertOneLineError(CliTests.Run("generate", Fixture("gpt2"), "--adapter", Fixture("llama-adapter"), "--prompt", "a"), 1, "another base model");
        CliTests.AssertOneLineError(CliTests.Run("merge-adapter", llama, "--out", TestData.TempDir()), 1, "give a LoRA adapter folder");
    }
}
