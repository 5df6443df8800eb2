using GenSharp.Models.Diffusion;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Clip;

/// <summary>
/// The two CLIP towers and the learned logit scale. Text: token + learned position embeddings → causal
/// <see cref="TextBlock"/>s → <c>ln_final</c>; the state at the end token, projected by <c>text_projection</c>, is
/// the text embedding, and all token states are what a diffusion UNet cross-attends to. Image: 3×3 conv →
/// (GroupNorm, SiLU, stride-2 conv) twice (28 → 14 → 7) → GroupNorm, SiLU, conv → mean over positions →
/// <c>image_projection</c>. Embeddings are L2-normalised; logits = exp(logit_scale)·cos.
/// </summary>
public sealed class ClipNetwork : Module
{
    private readonly Embedding token_embedding;
    private readonly Parameter positional_embedding;
    private readonly ModuleList<TextBlock> blocks;
    private readonly LayerNorm ln_final;
    private readonly Linear text_projection;
    private readonly Sequential image_encoder;
    private readonly Linear image_projection;
    private readonly Parameter logit_scale;
    private readonly int _context;

    public ClipNetwork(ClipConfig c) : base(nameof(ClipNetwork))
    {
        _context = c.ContextLength;
        token_embedding = Embedding(ClipTokenizer.Vocabulary.Count, c.TextWidth);
        positional_embedding = Parameter(torch.randn(c.ContextLength, c.TextWidth) * 0.01);
        blocks = ModuleList(Enumerable.Range(0, c.TextLayers).Select(_ => new TextBlock(c.TextWidth, c.TextHeads)).ToArray());
        ln_final = LayerNorm(c.TextWidth);
        text_projection = Linear(c.TextWidth, c.EmbedDim, hasBias: false);
        int w = c.ImageWidth;
        image_encoder = Sequential(
            Conv2d(c.ImageChannels, w, 3, padding: 1),
            DiffusionLayers.Norm(c.NormGroups, w), SiLU(), Conv2d(w, 2 * w, 3, stride: 2, padding: 1),          // 28 → 14
            DiffusionLayers.Norm(c.NormGroups, 2 * w), SiLU(), Conv2d(2 * w, 4 * w, 3, stride: 2, padding: 1),  // 14 → 7
            DiffusionLayers.Norm(c.NormGroups, 4 * w), SiLU(), Conv2d(4 * w, 4 * w, 3, padding: 1));
        image_projection = Linear(4 * w, c.EmbedDim);
        logit_scale = Parameter(torch.tensor(Math.Log(1 / c.InitTemperature)));
        RegisterComponents();
    }

    /// <summary>Context length the position embeddings cover.</summary>
    public int ContextLength => _context;

    /// <summary>Token ids (B, L) → final token states (B, L, W) and the unnormalised text embedding (B, E) at each end token.</summary>
    public (Tensor States, Tensor Embedding) EncodeText(Tensor tokens)
    {
        long b = tokens.shape[0], l = tokens.shape[1];
        if (l > _context) throw new GenSharpException($"at most {_context} tokens per prompt, got {l}");
        var x = token_embedding.forward(tokens) + positional_embedding.narrow(0, 0, l);   // (B, L, W)
        foreach (var block in blocks) x = block.Forward(x);
        var states = ln_final.forward(x);                                                 // (B, L, W)
        var end = tokens.eq(ClipTokenizer.End).to(ScalarType.Int64).argmax(1);            // (B) position of the end token
        var pooled = states.gather(1, end.view(b, 1, 1).expand(b, 1, states.shape[2])).squeeze(1);   // (B, W)
        return (states, text_projection.forward(pooled));
    }

    /// <summary>Float images in [0,1] (B, C, H, W) → unnormalised image embedding (B, E).</summary>
    public Tensor EncodeImage(Tensor images01)
    {
        var h = image_encoder.forward(images01 * 2 - 1);          // (B, 4w, H/4, W/4)
        return image_projection.forward(h.mean(new long[] { 2, 3 }));
    }

    /// <summary>exp(logit_scale), capped at 100 as in CLIP.</summary>
    public Tensor Scale => logit_scale.exp().clamp_max(100);
}
