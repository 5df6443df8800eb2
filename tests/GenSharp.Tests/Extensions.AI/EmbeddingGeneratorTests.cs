using System.Text.Json.Nodes;
using GenSharp.Extensions.AI;
using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using Microsoft.Extensions.AI;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

public class EmbeddingGeneratorTests
{
    [Fact]
    public async Task GeneratorGivesTheEncodersEmbeddingsInOrderWithUsageAndMetadata()
    {
        TorchRuntime.EnsureReady();
        var root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "BertReference");
        var e = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "expected.json")))!;
        var sentences = e["sentences"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray();
        var expected = e["st_cls_embeddings"]!.AsArray().Select(r => r!.AsArray().Select(v => (float)v!.GetValue<double>()).ToArray()).ToArray();
        using IEmbeddingGenerator<string, Embedding<float>> gen =
            new GenSharpEmbeddingGenerator(SentenceEncoders.FromHfFolder(Path.Combine(root, "st_cls"), torch.CPU), ownsEncoder: true) { BatchSize = 2 };
        var result = await gen.GenerateAsync(sentences);
        Assert.Equal(sentences.Length, result.Count);
        for (int i = 0; i < sentences.Length; i++)
            Assert.True(result[i].Vector.ToArray().Zip(expected[i], (a, b) => Math.Abs(a - b)).Max() < 1e-5, $"text {i}");
        // Tokens: [CLS] + pieces + [SEP] per text, as the fixture's tokenizer counts them.
        int tokens = e["st_input_ids"]!.AsArray().Sum(r => r!.AsArray().Count);
        Assert.Equal(tokens, result.Usage!.InputTokenCount);
        var meta = gen.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal((32, "st_cls"), (meta.DefaultModelDimensions, meta.DefaultModelId));
        await Assert.ThrowsAsync<ArgumentException>(() => gen.GenerateAsync(new[] { "x" }, new EmbeddingGenerationOptions { Dimensions = 8 }));
        Assert.NotNull(gen.GetService<SentenceEncoder>());
    }
}
