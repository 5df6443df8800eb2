using GenSharp.Models;
using GenSharp.Text;

namespace GenSharp.Checkpoints;

/// <summary>A text model ready to decode or score: a GenSharp text checkpoint or a Hugging Face model folder.</summary>
/// <param name="Model">The language model.</param>
/// <param name="Tokenizer">Its tokenizer (with BOS/EOS ids for pretrained models).</param>
/// <param name="Name">GenSharp family name (gpt) or Hugging Face model_type (gpt2, llama, qwen2, mistral).</param>
/// <param name="Path">The checkpoint or model folder.</param>
/// <param name="Step">Training steps of a GenSharp checkpoint; 0 for a pretrained model.</param>
/// <param name="Pretrained">True for a Hugging Face model folder.</param>
/// <param name="Owner">What disposing releases (the loaded model).</param>
public sealed record LoadedTextModel(ILanguageModel Model, ITokenizer Tokenizer, string Name, string Path, long Step, bool Pretrained, IDisposable Owner) : IDisposable
{
    /// <summary>The module whose parameters and buffers are the model's weights (to measure them); null when the loader did not say.</summary>
    public nn.Module? Network { get; init; }

    /// <summary>The LoRA adapter folder merged into the weights at load, or null.</summary>
    public string? Adapter { get; init; }

    /// <summary>
    /// Bytes the KV cache holds per token of one sequence: keys and values of every attention layer
    /// (2 × layers × cached width × element size); 0 when unknown.
    /// </summary>
    public long KvCacheBytesPerToken { get; init; }

    public void Dispose() => Owner.Dispose();
}
