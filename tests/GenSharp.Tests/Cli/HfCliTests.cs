using System.Text.Json.Nodes;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>generate and eval on a tiny Hugging Face model folder through the CLI.</summary>
[Collection("Console")]
public class HfCliTests
{
    [Fact]
    public void GenerateAndEvalOnHfFolder()
    {
        var config = HfModelTests.LlamaConfig("qwen2", heads: 4, kvHeads: 2, tied: true);
        using var m = HfModelTests.RandomModel(config);
        var dir = HfModelTests.Save(m, config);

        var g = CliTests.Run("generate", dir, "--prompt", "<|im_start|>user\nthe café", "--max-tokens", "6", "--temperature", "0");
        Assert.True(g.Code == 0, g.Err);
        var j = JsonNode.Parse(g.Out.Trim().Split('\n')[^1])!;
        Assert.Equal("qwen2", j["family"]!.GetValue<string>());
        Assert.InRange(j["generated_tokens"]!.GetValue<long>(), 1, 6);
        var again = CliTests.Run("generate", dir, "--prompt", "<|im_start|>user\nthe café", "--max-tokens", "6", "--temperature", "0", "--no-cache");
        Assert.Equal(g.Out.Split('\n')[0], again.Out.Split('\n')[0]);

        var text = Path.Combine(dir, "val.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("the cat sat on the mat. ", 60)));
        var e = CliTests.Run("eval", dir, "--data", text, "--context", "16", "--batch-size", "4");
        Assert.True(e.Code == 0, e.Err);
        var ej = JsonNode.Parse(e.Out.Trim().Split('\n')[^1])!;
        Assert.Equal(16, ej["context"]!.GetValue<int>());
        Assert.InRange(ej["val_loss"]!.GetValue<double>(), 0.5, 20);

        var notImages = CliTests.Run("sample", dir, "--out", Path.Combine(dir, "x.png"));
        Assert.Equal(1, notImages.Code);
        Assert.Contains("Hugging Face model folder", notImages.Err);
        Assert.Contains("gensharp generate", notImages.Err);
    }
}
