using GenSharp.Models.Encoders;

namespace GenSharp.Pipelines;

/// <summary>Sentence embeddings of many texts with a <see cref="SentenceEncoder"/>, timed.</summary>
public static class TextEmbedding
{
    /// <summary>The embeddings (N, D), in the order of the texts, and the throughput.</summary>
    public sealed record Result(float[][] Vectors, int Dimensions, double Seconds)
    {
        /// <summary>Texts embedded per second.</summary>
        public double TextsPerSecond => Vectors.Length / Math.Max(1e-9, Seconds);

        /// <summary>The vectors as one float32 tensor (N, D) on the CPU.</summary>
        public Tensor ToTensor() => torch.tensor(Vectors.SelectMany(v => v).ToArray(), new long[] { Vectors.Length, Dimensions });
    }

    /// <summary>Embeds <paramref name="texts"/> in batches of <paramref name="batchSize"/>.</summary>
    public static Result Run(SentenceEncoder encoder, IReadOnlyList<string> texts, int batchSize = 32)
    {
        if (texts.Count == 0) throw new GenSharpException("there is no text to embed");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var vectors = encoder.Embed(texts, batchSize);
        return new Result(vectors, encoder.Dimensions, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The texts of a file: one per non-empty line (UTF-8).</summary>
    public static List<string> ReadLines(string path)
    {
        if (!File.Exists(path)) throw new ParameterException("data", $"{path}: file not found");
        var bytes = File.ReadAllBytes(path);
        if (Array.IndexOf(bytes, (byte)0) >= 0) throw new ParameterException("data", $"{path} is not a text file (it holds NUL bytes)");
        string text;
        try { text = new System.Text.UTF8Encoding(false, true).GetString(bytes); }
        catch (System.Text.DecoderFallbackException) { throw new ParameterException("data", $"{path} is not UTF-8 text"); }
        return text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
    }
}
