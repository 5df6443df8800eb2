using GenSharp.Models.Gpt;
using TorchSharp.Modules;

namespace GenSharp.Models.Pretrained;

/// <summary>The <c>model.</c> part of a Llama-family checkpoint: token embedding, decoder layers, final RMSNorm.</summary>
internal sealed class LlamaBackbone : nn.Module
{
    static readonly DecoderBlock.Names LayerNames = new("input_layernorm", "self_attn", "post_attention_layernorm", "mlp");

    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderBlock> layers;
    private readonly RmsNorm norm;

    public LlamaBackbone(HfModelConfig c) : base(nameof(LlamaBackbone))
    {
        embed_tokens = DeferredWeights.TokenEmbedding(c.VocabSize, c.HiddenSize, c.TieEmbeddings);
        layers = new ModuleList<DecoderBlock>(Enumerable.Range(0, c.Layers).Select(i => new DecoderBlock(LayerNames,
            new RmsNorm(c.HiddenSize, c.NormEps),
            CausalSelfAttention.Grouped(c.HiddenSize, c.Heads, c.KvHeads, c.HeadDim, c.QkvBias, c.OutputBias, i),
            new RmsNorm(c.HiddenSize, c.NormEps),
            DecoderMlp.SwiGlu(c.HiddenSize, c.Intermediate, c.MlpBias))).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public Parameter Embedding => embed_tokens.weight!;

    /// <summary>The token embedding module (the network looks tokens up through it or a stand-in).</summary>
    public Embedding TokenEmbedding => embed_tokens;

    /// <summary>Token vectors (B, T, C) at <paramref name="positions"/> ((T) or (B, T)) → normed hidden states (B, T, C), or (B, 1, C) of the last position.</summary>
    public Tensor Forward(Tensor x, RotaryEmbedding rope, Tensor positions, IKvCache? cache, bool lastOnly)
    {
        long t = x.shape[1];
        var (cos, sin) = rope.Tables(positions, x.device);                        // (T, D) or (B, 1, T, D)
        x = DecoderNetwork.ThroughDecoderBlocks(layers, x, cache, (cos, sin));
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                                   // (B, 1, C)
        return norm.forward(x);
    }
}
