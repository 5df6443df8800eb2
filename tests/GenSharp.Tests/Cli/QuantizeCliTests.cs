using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models;
using Xunit;

namespace GenSharp.Tests;

/// <summary>gensharp quantize on a gpt trained here, then generate and eval on the result; and its one-line errors.</summary>
[Collection("Console")]
public class QuantizeCliTests
{
    static string TrainTinyGpt()
    {
        var dir = TestData.TempDir();
        var text = Path.Combine(dir, "tiny.txt");
        var lines = new[] { "ROMEO: But soft, what light through yonder window breaks?", "JULIET: O Romeo, Romeo, wherefore art thou Romeo?" };
        File.WriteAllText(text, string.Join("\n", Enumerable.Range(0, 60).Select(i => lines[i % 2])) + "\n");
        var run = Path.Combine(dir, "run");
        var t = CliTests.Run("train", "gpt", "--data", text, "--out", run, "--steps", "30", "--batch-size", "8", "--set", "n_layer=1", "--set", "n_head=2",
            "--set", "n_embd=32", "--set", "block_size=16", "--set", "eval_interval=30", "--set", "eval_iters=2", "--set", "learning_rate=0.01");
        Assert.True(t.Code == 0, t.Err);
        return run;
    }

    [Fact]
    public void Quantized_gpt_generates_and_evaluates_close_to_the_float_model()
    {
        var run = TrainTinyGpt();
        var text = Path.Combine(Path.GetDirectoryName(run)!, "tiny.txt");
        double Loss(string model)
        {
            var e = CliTests.Run("eval", model, "--data", text);
            Assert.True(e.Code == 0, e.Err);
            return JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!["val_loss"]!.GetValue<double>();
        }
        double f32 = Loss(run);
        foreach (var (bits, tolerance) in new[] { ("8", 0.02), ("4", 0.3) })
        {
            var q = Path.Combine(TestData.TempDir(), "q" + bits);
            var r = CliTests.Run("quantize", run, "--bits", bits, "--out", q);
            Assert.True(r.Code == 0, r.Err);
            var j = JsonNode.Parse(r.Out.Trim().Split('\n')[^1])!;
            Assert.Equal(int.Parse(bits), j["bits"]!.GetValue<int>());
            Assert.Equal(4 + 1, j["layers"]!.GetValue<int>());                        // c_attn, c_proj, c_fc, mlp c_proj, the head
            double loss = Loss(q);
            Assert.True(Math.Abs(loss - f32) < tolerance * f32, $"{bits} bits: loss {loss} vs float {f32}");
            var g = CliTests.Run("generate", q, "--prompt", "ROMEO:", "--max-tokens", "12", "--temperature", "0");
            Assert.True(g.Code == 0, g.Err);
            Assert.Equal(12, JsonNode.Parse(g.Out.Trim().Split('\n')[^1])!["generated_tokens"]!.GetValue<long>());
            // A quantized model is not quantized again.
            CliTests.AssertOneLineError(CliTests.Run("quantize", q, "--bits", "8", "--out", Path.Combine(TestData.TempDir(), "again")), 1, "quantized already");
        }
    }

    [Fact]
    public void Bad_input_gets_one_line_and_leaves_existing_files_alone()
    {
        var config = QuantizedModelTests.Llama(tied: true);
        using var m = HfModelTests.RandomModel(config);
        var source = HfModelTests.Save(m, config);
        string Fresh() => Path.Combine(TestData.TempDir(), "q");

        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "3", "--out", Fresh()), 1, "--bits is 3");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "8", "--group-size", "32", "--out", Fresh()), 1, "--group-size applies to 4 bits");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "4", "--group-size", "48", "--out", Fresh()), 1, "--group-size is 48");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "4", "--group-size", "64", "--out", Fresh()), 1, "does not divide the input width 32");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--out", Fresh()), 2, "--bits");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "8"), 2, "--out");
        CliTests.AssertOneLineError(CliTests.Run("quantize", "/nonexistent/model", "--bits", "8", "--out", Fresh()), 1, "/nonexistent/model");

        var taken = Fresh();
        Directory.CreateDirectory(taken);
        File.WriteAllText(Path.Combine(taken, "notes.txt"), "mine");
        CliTests.AssertOneLineError(CliTests.Run("quantize", source, "--bits", "8", "--out", taken), 1, "not empty");
        Assert.Equal("mine", File.ReadAllText(Path.Combine(taken, "notes.txt")));
        Assert.Single(Directory.GetFileSystemEntries(taken));

        var vae = Path.Combine(TestData.TempDir(), "vae");
        var family = FamilyRegistry.Get("vae");
        var manifest = Checkpoint.NewManifest(family, family.DefaultConfig, new JsonObject { ["source"] = "test" });
        Checkpoint.Save(vae, manifest, new Dictionary<string, TorchSharp.torch.Tensor> { ["w"] = TorchSharp.torch.zeros(2) });
        CliTests.AssertOneLineError(CliTests.Run("quantize", vae, "--bits", "8", "--out", Fresh()), 1, "quantization applies to text models");

        var q = Fresh();
        Assert.Equal(0, CliTests.Run("quantize", source, "--bits", "4", "--out", q).Code);
        CliTests.AssertOneLineError(CliTests.Run("quantize", q, "--bits", "8", "--out", Fresh()), 1, "quantized already");
        CliTests.AssertOneLineError(CliTests.Run("generate", q, "--prompt", "a", "--device", "cuda"), 1, "cuda");
    }
}
