using System.Text.Json.Nodes;
using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests;

/// <summary>
/// Hugging Face folders written by the real transformers 5.12 (bench/pytorch/bert_reference.py, Debian sid chroot) and what
/// transformers computed from them: GenSharp's tokenizer, logits and embeddings must equal them.
/// </summary>
public class BertReferenceTests : IDisposable
{
    // These tests leave large managed garbage (the 90 MB ONNX file, tensors read from it); collect it before the next test.
    public void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures", "BertReference");
    static readonly JsonObject Expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "expected.json")))!.AsObject();
    static string[] Sentences => Expected["sentences"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray();

    static int[][] Ints(string key) => Expected[key]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<int>()).ToArray()).ToArray();

    static Tensor Floats(string key)
    {
        static IEnumerable<double> Flat(JsonNode n) => n is JsonArray a ? a.SelectMany(x => Flat(x!)) : new[] { n.GetValue<double>() };
        static IEnumerable<long> Shape(JsonNode n) => n is JsonArray a ? new[] { (long)a.Count }.Concat(Shape(a[0]!)) : Array.Empty<long>();
        var node = Expected[key]!;
        return torch.tensor(Flat(node).Select(v => (float)v).ToArray(), Shape(node).ToArray());
    }

    [Fact]
    public void WordPieceTokenizerJsonEncodesAsHuggingFaceTokenizers()
    {
        TorchRuntime.EnsureReady();
        using var mlm = SentenceEncoders.FromHfFolder(Path.Combine(Root, "mlm"), torch.CPU);
        var expected = Ints("input_ids");
        for (int i = 0; i < Sentences.Length; i++) Assert.Equal(expected[i], mlm.Tokenizer.Encode(Sentences[i], 40));
        using var st = SentenceEncoders.FromHfFolder(Path.Combine(Root, "st_cls"), torch.CPU);
        Assert.Equal(16, st.MaxLength);                                          // sentence_bert_config.json's max_seq_length
        var cut = Ints("st_input_ids");
        for (int i = 0; i < Sentences.Length; i++) Assert.Equal(cut[i], st.Tokenizer.Encode(Sentences[i], st.MaxLength));
    }

    [Fact]
    public void BertForMaskedLmLogitsAndMeanPooledStatesEqualTransformers()
    {
        TorchRuntime.EnsureReady();
        using var enc = SentenceEncoders.FromHfFolder(Path.Combine(Root, "mlm"), torch.CPU);
        Assert.True(enc.Network.HasMlmHead);
        Assert.Equal((SentencePooling.Mean, false), (enc.Pooling, enc.Normalize));   // a plain BERT folder: mean, not normalised
        var ids = Ints("input_ids");
        int t = ids.Max(r => r.Length);
        var tokens = torch.zeros(ids.Length, t, dtype: ScalarType.Int64);
        var mask = torch.zeros(ids.Length, t, dtype: ScalarType.Int64);
        for (int i = 0; i < ids.Length; i++)
            for (int j = 0; j < ids[i].Length; j++) { tokens[i, j] = ids[i][j]; mask[i, j] = 1; }
        using var _ = torch.no_grad();
        var logits = enc.Network.MlmLogits(enc.Network.Encoder.Forward(tokens, mask));
        var expected = Floats("mlm_logits");
        Assert.Equal(expected.shape, logits.shape);
        var real = mask.unsqueeze(-1).to(ScalarType.Bool).expand_as(logits);
        var diff = (logits - expected).abs().masked_select(real).max().item<float>();
        Assert.True(diff < 2e-5, $"max |Δ logit| {diff}");
        var mean = torch.tensor(enc.Embed(Sentences).SelectMany(r => r).ToArray(), new long[] { ids.Length, 32 });
        var dm = (mean - Floats("mean_hidden")).abs().max().item<float>();
        Assert.True(dm < 1e-5, $"max |Δ mean state| {dm}");
    }

    [Fact]
    public void SentenceTransformersFolderUsesItsClsPoolingAndNormalisation()
    {
        TorchRuntime.EnsureReady();
        using var enc = SentenceEncoders.FromHfFolder(Path.Combine(Root, "st_cls"), torch.CPU);
        Assert.Equal((SentencePooling.Cls, true), (enc.Pooling, enc.Normalize));
        Assert.False(enc.Network.HasMlmHead);
        var ours = torch.tensor(enc.Embed(Sentences, batchSize: 2).SelectMany(r => r).ToArray(), new long[] { Sentences.Length, 32 });
        var d = (ours - Floats("st_cls_embeddings")).abs().max().item<float>();
        Assert.True(d < 1e-5, $"max |Δ embedding| {d}");
    }

    [Fact]
    public void FoldersThatAreNotBertSayWhy()
    {
        var dir = TestData.TempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "gpt2"}""");
        Assert.Contains("expected bert", Assert.Throws<GenSharpException>(() => SentenceEncoders.FromHfFolder(dir, torch.CPU)).Message);
        Assert.Contains("neither 'minilm'", Assert.Throws<GenSharpException>(() => SentenceEncoders.Load("/no/such/folder", torch.CPU)).Message);
    }
}
