using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>The <c>model.</c> part of a Llama-family checkpoint: token embedding, decoder layers, final RMSNorm.</summary>
internal sealed class LlamaBackbone : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<LlamaDecoderLayer> layers;
    private readonly RmsNorm norm;

    public LlamaBackbone(HfModelConfig c) : base(nameof(LlamaBackbone))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.Layers).Select(i => new LlamaDecoderLayer(c, i)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public Parameter Embedding => embed_tokens.weight!;

    /// <summary>Tokens (B, T) → normed hidden states (B, T, C), or (B, 1, C) of the last position.</summary>
    public Tensor Forward(Tensor tokens, RotaryEmbedding rope, KvCache? cache, bool lastOnly)
    {
        long t = tokens.shape[1];
        int start = cache?.Length ?? 0;
        var (cos, sin) = rope.Tables(start, t, tokens.device);                    // (T, D)
        var x = embed_tokens.forward(tokens);                                      // (B, T, C)
        foreach (var layer in layers) x = layer.Forward(x, cos, sin, cache);
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                                   // (B, 1, C)
        return norm.forward(x);
    }
}
