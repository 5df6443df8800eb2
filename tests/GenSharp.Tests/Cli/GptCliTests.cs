using System.Text.Json.Nodes;
using Xunit;

namespace GenSharp.Tests;

/// <summary>train → eval → generate for gpt through the CLI, on a small generated text.</summary>
[Collection("Console")]
public class GptCliTests
{
    static string TextFile()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "tiny.txt");
        var lines = new[] { "ROMEO: But soft, what light through yonder window breaks?", "JULIET: O Romeo, Romeo, wherefore art thou Romeo?", "Ça va — très bien." };
        File.WriteAllText(path, string.Join("\n", Enumerable.Range(0, 60).Select(i => lines[i % lines.Length])) + "\n");
        return path;
    }

    static readonly string[] TinySets = { "--set", "n_layer=1", "--set", "n_head=2", "--set", "n_embd=16", "--set", "block_size=16", "--set", "eval_interval=5", "--set", "eval_iters=2" };

    [Fact]
    public void TrainEvalGenerate()
    {
        var text = TextFile();
        var run = Path.Combine(TestData.TempDir(), "run");
        var t = CliTests.Run(new[] { "train", "gpt", "--data", text, "--out", run, "--steps", "12", "--batch-size", "4" }.Concat(TinySets).ToArray());
        Assert.True(t.Code == 0, t.Err);
        Assert.Contains("val_loss", t.Out);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint", "tokenizer.json")));
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(new long[] { 5, 10, 12 }, metrics.Where(m => m["val_loss"] is not null).Select(m => m["step"]!.GetValue<long>()));

        var e = CliTests.Run("eval", run, "--data", text);
        Assert.True(e.Code == 0, e.Err);
        var ej = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        double loss = ej["val_loss"]!.GetValue<double>();
        Assert.InRange(loss, 0.1, 5);
        Assert.Equal(Math.Exp(loss), ej["val_perplexity"]!.GetValue<double>(), 3);

        var g = CliTests.Run("generate", run, "--prompt", "ROMEO:", "--max-tokens", "20", "--seed", "1", "--top-k", "5", "--top-p", "0.9", "--repetition-penalty", "1.1");
        Assert.True(g.Code == 0, g.Err);
        Assert.StartsWith("ROMEO:", g.Out);
        var gj = JsonNode.Parse(g.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(20, gj["generated_tokens"]!.GetValue<long>());
        var again = CliTests.Run("generate", run, "--prompt", "ROMEO:", "--max-tokens", "20", "--seed", "1", "--top-k", "5", "--top-p", "0.9", "--repetition-penalty", "1.1", "--no-cache");
        Assert.Equal(g.Out.Split('\n')[0], again.Out.Split('\n')[0]);         // same seed, same text with or without the cache

        var b = CliTests.Run("generate", run, "--prompt", "JULIET:", "--prompt", "Ça", "--max-tokens", "8", "--temperature", "0");
        Assert.True(b.Code == 0, b.Err);
        Assert.Contains("--- 2/2 ---", b.Out);

        var bad = CliTests.Run("generate", run, "--prompt", "ROMEO: 🙂");
        Assert.Equal(1, bad.Code);
        Assert.Contains("not in the character vocabulary", bad.Err);
        var notText = CliTests.Run("generate", run, "--max-tokens", "5");
        Assert.Contains("needs --prompt", notText.Err);
        Assert.Contains("gensharp generate", CliTests.Run("sample", run, "--out", Path.Combine(run, "x.png")).Err);
    }

    [Fact]
    public void ResumeMatchesAnUninterruptedRun()
    {
        var text = TextFile();
        var whole = Path.Combine(TestData.TempDir(), "whole");
        var split = Path.Combine(TestData.TempDir(), "split");
        string[] Args(string outDir, int steps) =>
            new[] { "train", "gpt", "--data", text, "--out", outDir, "--steps", steps.ToString(), "--batch-size", "4", "--set", "lr_decay_steps=10" }
            .Concat(TinySets).ToArray();
        Assert.Equal(0, CliTests.Run(Args(whole, 10)).Code);
        Assert.Equal(0, CliTests.Run(Args(split, 6)).Code);
        var r = CliTests.Run(new[] { "train", "gpt", "--data", text, "--out", split, "--steps", "10", "--resume" });
        Assert.True(r.Code == 0, r.Err);
        static string LastLoss(string dir) => File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Select(l => JsonNode.Parse(l)!)
            .Last(m => m["val_loss"] is not null)["val_loss"]!.ToJsonString();
        Assert.Equal(LastLoss(whole), LastLoss(split));
    }

    [Fact]
    public void TextUserErrors()
    {
        var r = CliTests.Run("train", "gpt", "--out", TestData.TempDir());
        Assert.Equal(1, r.Code);
        Assert.Contains("--data FILE.txt", r.Err);
        var dir = TestData.TempDir();
        var bin = Path.Combine(dir, "bad.txt");
        File.WriteAllBytes(bin, new byte[] { 0x41, 0xff, 0xfe, 0x42 });
        Assert.Contains("not valid UTF-8", CliTests.Run("train", "gpt", "--data", bin, "--out", Path.Combine(dir, "o")).Err);
        var small = Path.Combine(dir, "small.txt");
        File.WriteAllText(small, "tiny text");
        Assert.Contains("block_size", CliTests.Run("train", "gpt", "--data", small, "--out", Path.Combine(dir, "o2")).Err);
    }
}
