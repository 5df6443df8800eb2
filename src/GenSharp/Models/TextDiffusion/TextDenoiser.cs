using GenSharp.Models.Diffusion;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.TextDiffusion;

/// <summary>
/// Noise predictor for vector latents conditioned on a prompt: sinusoidal time embedding → MLP, input projection,
/// then per block a residual MLP block (<see cref="LatentResBlock"/>, time-conditioned) and a
/// <see cref="LatentCrossAttention"/> to the prompt's token states, LayerNorm → SiLU → zero-initialised output
/// projection. (The VAE's latent is a flat vector, so the "UNet" is a residual MLP whose only spatial axis is the
/// attention's query tokens.) Keys: <c>time_mlp.*</c>, <c>proj_in.*</c>, <c>blocks.i.*</c>, <c>attentions.i.*</c>,
/// <c>norm_out.*</c>, <c>proj_out.*</c>.
/// </summary>
public sealed class TextDenoiser : Module
{
    private readonly Sequential time_mlp;
    private readonly Linear proj_in;
    private readonly ModuleList<LatentResBlock> blocks;
    private readonly ModuleList<LatentCrossAttention> attentions;
    private readonly LayerNorm norm_out;
    private readonly Linear proj_out;
    private readonly int _timeFeatures;

    public TextDenoiser(int latentDim, int textWidth, TextDiffusionConfig c) : base(nameof(TextDenoiser))
    {
        _timeFeatures = c.TimeFeatures;
        int emb = c.TimeEmbedDim;
        time_mlp = Sequential(Linear(c.TimeFeatures, emb), SiLU(), Linear(emb, emb));
        proj_in = Linear(latentDim, c.Hidden);
        blocks = ModuleList(Enumerable.Range(0, c.Blocks).Select(_ => new LatentResBlock(c.Hidden, emb, c.Dropout)).ToArray());
        attentions = ModuleList(Enumerable.Range(0, c.Blocks)
            .Select(_ => new LatentCrossAttention(c.Hidden, textWidth, c.QueryTokens, c.AttentionWidth, c.AttentionHeads)).ToArray());
        norm_out = LayerNorm(c.Hidden);
        proj_out = ModuleInit.Zeroed(Linear(c.Hidden, latentDim));
        RegisterComponents();
    }

    /// <summary>z_t (B, D), steps t (B), prompt states (B, L, Wt) and mask (B, L) → ε or v (B, D).</summary>
    public Tensor Forward(Tensor z, Tensor t, Tensor text, Tensor mask)
    {
        var emb = DiffusionLayers.Conditioning(time_mlp, null, _timeFeatures, t, null);   // (B, E)
        var h = proj_in.forward(z);                                                       // (B, W)
        for (int i = 0; i < blocks.Count; i++)
        {
            h = blocks[i].Forward(h, emb);
            h = attentions[i].Forward(h, text, mask);
        }
        return proj_out.forward(functional.silu(norm_out.forward(h)));                   // (B, D)
    }
}
