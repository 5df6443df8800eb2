using GenSharp.Text;

namespace GenSharp.Models.Encoders;

/// <summary>
/// Sentence embeddings from a BERT encoder: WordPiece tokens, the encoder's last hidden states, pooling (mean under the
/// attention mask or [CLS]) and optional L2 normalisation, as sentence-transformers computes them. Texts are encoded
/// in batches padded to their longest member; the order of the results is the order of the texts.
/// </summary>
public sealed class SentenceEncoder : IDisposable
{
    readonly BertNetwork _net;
    readonly IDisposable? _owner;

    /// <param name="network">The encoder (its MLM head, if any, is not used).</param>
    /// <param name="tokenizer">Its WordPiece vocabulary.</param>
    /// <param name="pooling">Pooling of the token states.</param>
    /// <param name="normalize">Scale each embedding to unit length.</param>
    /// <param name="maxLength">Tokens per text at most, [CLS] and [SEP] included (longer texts are cut).</param>
    /// <param name="name">Name reported with the embeddings (e.g. "all-MiniLM-L6-v2").</param>
    /// <param name="owner">Disposed with this encoder (the model that holds the network), or null.</param>
    public SentenceEncoder(BertNetwork network, WordPieceVocabulary tokenizer, SentencePooling pooling, bool normalize, int maxLength,
        string name, IDisposable? owner = null)
    {
        _net = network;
        Tokenizer = tokenizer;
        Pooling = pooling;
        Normalize = normalize;
        MaxLength = maxLength;
        Name = name;
        _owner = owner;
        _net.eval();
    }

    /// <summary>The WordPiece vocabulary.</summary>
    public WordPieceVocabulary Tokenizer { get; }
    /// <summary>Pooling of the token states.</summary>
    public SentencePooling Pooling { get; }
    /// <summary>Whether embeddings have unit length.</summary>
    public bool Normalize { get; }
    /// <summary>Tokens per text at most.</summary>
    public int MaxLength { get; }
    /// <summary>Model name.</summary>
    public string Name { get; }
    /// <summary>Embedding width.</summary>
    public int Dimensions => (int)_net.Encoder.WordEmbeddings.shape[1];
    /// <summary>The encoder network.</summary>
    public BertNetwork Network => _net;
    /// <summary>Device of the network.</summary>
    public Device Device => _net.Encoder.WordEmbeddings.device;

    /// <summary>Embeddings of <paramref name="texts"/>, (N, D) float32 row-major, in order.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, int batchSize = 32)
    {
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        var result = new float[texts.Count][];
        var ids = texts.Select(t => Tokenizer.Encode(t ?? throw new GenSharpException("a text to embed is null"), MaxLength)).ToArray();
        for (int start = 0; start < ids.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, ids.Length - start);
            using var scope = torch.NewDisposeScope();
            var batch = EmbedTokens(ids.AsSpan(start, n).ToArray());
            var flat = batch.cpu().data<float>().ToArray();
            int d = (int)batch.shape[1];
            for (int i = 0; i < n; i++) result[start + i] = flat.AsSpan(i * d, d).ToArray();
        }
        return result;
    }

    /// <summary>Embeddings (B, D) of token sequences ([CLS] … [SEP] each), padded to the longest.</summary>
    public Tensor EmbedTokens(IReadOnlyList<int[]> sequences)
    {
        int b = sequences.Count, t = sequences.Max(s => s.Length);
        var tokens = new long[b * t];
        var mask = new long[b * t];
        for (int i = 0; i < b; i++)
            for (int j = 0; j < t; j++)
            {
                bool real = j < sequences[i].Length;
                tokens[i * t + j] = real ? sequences[i][j] : Tokenizer.PadId;
                mask[i * t + j] = real ? 1 : 0;
            }
        using var _ = torch.no_grad();
        var x = torch.tensor(tokens, new long[] { b, t }).to(Device);
        var m = torch.tensor(mask, new long[] { b, t }).to(Device);
        var hidden = _net.Encoder.Forward(x, m);                                       // (B, T, C)
        return Pool(hidden, m, Pooling, Normalize);
    }

    /// <summary>Pools token states (B, T, C) under a 0/1 mask (B, T) into (B, C), optionally L2-normalised.</summary>
    public static Tensor Pool(Tensor hidden, Tensor mask, SentencePooling pooling, bool normalize)
    {
        Tensor e;
        if (pooling == SentencePooling.Cls) e = hidden[.., 0];
        else
        {
            var w = mask.to(hidden.dtype).unsqueeze(-1);                               // (B, T, 1)
            e = (hidden * w).sum(1) / w.sum(1).clamp_min(1e-9);                        // (B, C)
        }
        return normalize ? nn.functional.normalize(e, p: 2, dim: 1) : e;
    }

    public void Dispose()
    {
        if (_owner is not null) _owner.Dispose();
        else _net.Dispose();
    }
}
