using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using GenSharp.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The built-in embedder (all-MiniLM-L6-v2 read out of the NuGet package's ONNX file) against ONNX Runtime running that file.</summary>
public class MiniLmTests : IDisposable
{
    // These tests leave large managed garbage (the 90 MB ONNX file, tensors read from it); collect it before the next test.
    public void Dispose()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    internal static readonly string[] Sentences =
    {
        "A man is playing a guitar.",
        "Someone plays an acoustic guitar on stage.",
        "The quick brown fox jumps over the lazy dog.",
        "Tiny Shakespeare holds about a million characters of the plays.",
        "How do I reset my password?",
        "Forgot my login credentials, what should I do?",
        "The stock market fell sharply on Monday after the announcement.",
        "Photosynthesis converts light energy into chemical energy in plants.",
        "GenSharp trains generative models in C# on TorchSharp.",
        "Il pleut à Paris aujourd'hui, naïve café crème.",
        "Retrieval-augmented generation answers questions from cited sources, and says so when the sources do not contain the answer; " +
        "long inputs are cut at the model's maximum length, which this sentence does not reach but tests padding well.",
        "",
        "OK",
        "1234 5678 — numbers, dashes, and (parentheses)!",
    };

    static List<float[]> OnnxRuntimeEmbeddings(byte[] onnx, WordPieceVocabulary tokenizer, IReadOnlyList<string> texts, int maxLength)
    {
        using var session = new InferenceSession(onnx);
        var result = new List<float[]>();
        foreach (var text in texts)   // one at a time: no padding in the reference
        {
            var ids = tokenizer.Encode(text, maxLength).Select(i => (long)i).ToArray();
            var shape = new[] { 1, ids.Length };
            var inputs = new List<NamedOnnxValue>();
            foreach (var name in session.InputMetadata.Keys)
            {
                long[] data = name switch
                {
                    "input_ids" => ids,
                    "attention_mask" => ids.Select(_ => 1L).ToArray(),
                    "token_type_ids" => new long[ids.Length],
                    _ => throw new InvalidOperationException($"unexpected ONNX input {name}"),
                };
                inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(data, shape)));
            }
            using var outputs = session.Run(inputs);
            var hidden = outputs.First().AsTensor<float>();                       // (1, T, 384) last hidden state
            int t = hidden.Dimensions[1], d = hidden.Dimensions[2];
            // Mean over tokens, then unit length, in double.
            var mean = new double[d];
            for (int j = 0; j < t; j++) for (int k = 0; k < d; k++) mean[k] += hidden[0, j, k] / (double)t;
            double norm = Math.Sqrt(mean.Sum(v => v * v));
            result.Add(mean.Select(v => (float)(v / norm)).ToArray());
        }
        return result;
    }

    [Fact]
    public void EmbeddingsEqualOnnxRuntimeOnTheSameFile()
    {
        TorchRuntime.EnsureReady();
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        Assert.Equal((384, 256, SentencePooling.Mean, true), (encoder.Dimensions, encoder.MaxLength, encoder.Pooling, encoder.Normalize));
        var ours = encoder.Embed(Sentences, batchSize: 5);                        // padded batches
        var (onnx, _) = SentenceEncoders.MiniLmFiles();
        var reference = OnnxRuntimeEmbeddings(onnx, encoder.Tokenizer, Sentences, encoder.MaxLength);
        for (int i = 0; i < Sentences.Length; i++)
        {
            double dot = 0, na = 0, nb = 0, maxDiff = 0;
            for (int k = 0; k < 384; k++)
            {
                dot += ours[i][k] * (double)reference[i][k];
                na += ours[i][k] * (double)ours[i][k];
                nb += reference[i][k] * (double)reference[i][k];
                maxDiff = Math.Max(maxDiff, Math.Abs(ours[i][k] - reference[i][k]));
            }
            double cos = dot / Math.Sqrt(na * nb);
            Assert.True(cos >= 0.9999, $"sentence {i}: cosine {cos}");
            Assert.True(maxDiff <= 1e-4, $"sentence {i}: max abs diff {maxDiff}");
            Assert.InRange(Math.Sqrt(na), 0.9999, 1.0001);
        }
    }

    [Fact]
    public void TokenizerFollowsBertUncasedWordPiece()
    {
        TorchRuntime.EnsureReady();
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var t = encoder.Tokenizer;
        Assert.Equal((101, 102, 0, 103, 30522), (t.ClsId, t.SepId, t.PadId, t.MaskId, t.VocabSize));
        // bert-base-uncased's vocabulary: "hello" 7592, "," 1010, "world" 2088, "!" 999; "playing" 2652; "un", "##believ", "##able".
        Assert.Equal(new[] { 101, 7592, 1010, 2088, 999, 102 }, t.Encode("Hello, WORLD!", 256));
        Assert.Equal(new[] { 101, 7592, 102 }, t.Encode("Hello, world!", 3));     // cut to fit [CLS] … [SEP]
    }

    [Fact]
    public void SimilarSentencesAreCloserThanUnrelatedOnes()
    {
        TorchRuntime.EnsureReady();
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var e = encoder.Embed(Sentences);
        double Cos(int a, int b) => e[a].Zip(e[b], (x, y) => (double)x * y).Sum();
        Assert.True(Cos(0, 1) > Cos(0, 2) + 0.3, $"{Cos(0, 1)} vs {Cos(0, 2)}");
        Assert.True(Cos(4, 5) > Cos(4, 7) + 0.3, $"{Cos(4, 5)} vs {Cos(4, 7)}");
    }

    /// <summary>bench/data/sts-gensharp-40.tsv: 40 hand-scored pairs (0–5), read as score, sentence 1, sentence 2.</summary>
    internal static List<(double Score, string A, string B)> SimilarityPairs()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "GenSharp.sln"))) root = Path.GetDirectoryName(root) ?? throw new FileNotFoundException("GenSharp.sln");
        return File.ReadAllLines(Path.Combine(root, "bench", "data", "sts-gensharp-40.tsv")).Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t')).Select(f => (double.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), f[1], f[2])).ToList();
    }

    [Fact]
    public void RanksHandScoredPairsLikeTheirScores()
    {
        TorchRuntime.EnsureReady();
        var pairs = SimilarityPairs();
        Assert.Equal(40, pairs.Count);
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        var a = encoder.Embed(pairs.Select(p => p.A).ToList());
        var b = encoder.Embed(pairs.Select(p => p.B).ToList());
        var cos = a.Zip(b, (x, y) => x.Zip(y, (u, v) => (double)u * v).Sum()).ToList();
        double rho = GenSharp.Evaluation.SpearmanCorrelation.Compute(pairs.Select(p => p.Score).ToList(), cos);
        Assert.True(rho > 0.8, $"Spearman {rho}");
    }
}
