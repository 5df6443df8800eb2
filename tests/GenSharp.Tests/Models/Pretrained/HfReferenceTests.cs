using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>
/// Logits of Hugging Face folders against an independent PyTorch implementation (bench/pytorch/hf_reference.py wrote
/// the folders and the expected logits): gpt2 (bare names, Conv1D), llama (one kv head, head_dim ≠ hidden/heads,
/// llama3 RoPE scaling, untied head), qwen2 (q/k/v biases, GQA, tied head); full pass and token-by-token with the cache.
/// </summary>
public class HfReferenceTests
{
    [Theory, InlineData("gpt2"), InlineData("llama"), InlineData("qwen2")]
    public void LogitsMatchPyTorchReference(string name)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "HfReference", name);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")))!;
        var ids = expected["tokens"]!.AsArray().Select(n => (long)n!.GetValue<int>()).ToArray();
        var reference = expected["logits"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).ToArray();
        using var m = Checkpoint.LoadTextModel(dir, torch.CPU);
        using var x = torch.tensor(ids, new long[] { 1, ids.Length });
        using var full = m.Model.Logits(x);
        AssertClose(reference, full.data<float>().ToArray(), 0, ids.Length, name + " full pass");
        using var cache = m.Model.CreateCache();
        for (int t = 0; t < ids.Length; t++)
        {
            using var step = m.Model.Logits(x.narrow(1, t, 1), cache);
            AssertClose(reference, step.data<float>().ToArray(), t, 1, $"{name} cached position {t}");
        }
    }

    static void AssertClose(double[][] reference, float[] got, int from, int count, string what)
    {
        int v = reference[0].Length;
        Assert.Equal(count * v, got.Length);
        double worst = 0;
        for (int t = 0; t < count; t++)
            for (int i = 0; i < v; i++) worst = Math.Max(worst, Math.Abs(reference[from + t][i] - got[t * v + i]));
        Assert.True(worst < 1e-4, $"{what}: max |Δlogit| = {worst}");
    }
}
