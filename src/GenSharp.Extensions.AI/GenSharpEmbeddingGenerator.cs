using GenSharp.Models.Encoders;
using Microsoft.Extensions.AI;

namespace GenSharp.Extensions.AI;

/// <summary>
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a GenSharp <see cref="SentenceEncoder"/> (the built-in
/// all-MiniLM-L6-v2, or a BERT / sentence-transformers folder). <see cref="EmbeddingGenerationOptions.Dimensions"/>, when
/// given, must equal the model's width (an encoder has one size). Calls run one at a time per generator; the texts of
/// one call are embedded in batches of <see cref="BatchSize"/>.
/// </summary>
public sealed class GenSharpEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    readonly SentenceEncoder _encoder;
    readonly bool _owns;
    readonly SemaphoreSlim _gate = new(1, 1);
    readonly EmbeddingGeneratorMetadata _metadata;

    /// <param name="encoder">The encoder.</param>
    /// <param name="ownsEncoder">Dispose the encoder with this generator.</param>
    public GenSharpEmbeddingGenerator(SentenceEncoder encoder, bool ownsEncoder = false)
    {
        _encoder = encoder;
        _owns = ownsEncoder;
        _metadata = new EmbeddingGeneratorMetadata("gensharp", null, encoder.Name, encoder.Dimensions);
    }

    /// <summary>The built-in all-MiniLM-L6-v2 (no download), owned by the generator.</summary>
    public static GenSharpEmbeddingGenerator MiniLm() => new(SentenceEncoders.MiniLm(TorchSharp.torch.CPU), ownsEncoder: true);

    /// <summary>Texts per forward pass.</summary>
    public int BatchSize { get; init; } = 32;

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToList();
        if (options?.Dimensions is { } d && d != _encoder.Dimensions)
            throw new ArgumentException($"{_encoder.Name} gives {_encoder.Dimensions} dimensions, not {d}", nameof(options));
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = new GeneratedEmbeddings<Embedding<float>>(texts.Count);
            int tokens = 0;
            for (int start = 0; start < texts.Count; start += BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = texts.GetRange(start, Math.Min(BatchSize, texts.Count - start));
                tokens += batch.Sum(t => Math.Min(_encoder.MaxLength, _encoder.Tokenizer.CountTokens(t) + 2));
                var vectors = await Task.Run(() => _encoder.Embed(batch, BatchSize), cancellationToken).ConfigureAwait(false);
                foreach (var v in vectors)
                    result.Add(new Embedding<float>(v) { ModelId = _encoder.Name, CreatedAt = DateTimeOffset.UtcNow });
            }
            result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
            return result;
        }
        finally { _gate.Release(); }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType == typeof(SentenceEncoder) ? _encoder
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        if (_owns) _encoder.Dispose();
        _gate.Dispose();
    }
}
