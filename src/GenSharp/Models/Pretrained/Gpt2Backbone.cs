using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Pretrained;

/// <summary>The <c>transformer.</c> part of a GPT-2 checkpoint: token and learned position embeddings, blocks, final LayerNorm.</summary>
internal sealed class Gpt2Backbone : nn.Module
{
    private readonly Embedding wte;
    private readonly Embedding wpe;
    private readonly ModuleList<Gpt2Block> h;
    private readonly LayerNorm ln_f;

    public Gpt2Backbone(HfModelConfig c) : base(nameof(Gpt2Backbone))
    {
        wte = nn.Embedding(c.VocabSize, c.HiddenSize);
        wpe = nn.Embedding(c.ContextLength, c.HiddenSize);
        h = new ModuleList<Gpt2Block>(Enumerable.Range(0, c.Layers).Select(i => new Gpt2Block(c, i)).ToArray());
        ln_f = nn.LayerNorm(c.HiddenSize, c.NormEps);
        RegisterComponents();
    }

    public Parameter Embedding => wte.weight!;

    /// <summary>Tokens (B, T) → final-normed hidden states (B, T, C), or (B, 1, C) of the last position.</summary>
    public Tensor Forward(Tensor tokens, KvCache? cache, bool lastOnly)
    {
        long t = tokens.shape[1];
        int start = cache?.Length ?? 0;
        using var pos = torch.arange(start, start + t, dtype: ScalarType.Int64, device: tokens.device);   // (T)
        var x = wte.forward(tokens) + wpe.forward(pos);                           // (B, T, C)
        foreach (var block in h) x = block.Forward(x, cache);
        cache?.Advance((int)t);
        if (lastOnly) x = x.narrow(1, t - 1, 1);                                   // (B, 1, C)
        return ln_f.forward(x);
    }
}
