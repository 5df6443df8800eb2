using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Diffusion;

/// <summary>
/// Noise predictor for vector latents (latent diffusion on a VAE with a flat latent): sinusoidal time embedding →
/// MLP (+ class embedding, last row = "no class"), input projection, residual MLP blocks, LayerNorm → SiLU →
/// zero-initialised output projection. Keys: <c>time_mlp.*</c>, <c>class_embedding.weight</c>, <c>proj_in.*</c>,
/// <c>blocks.i.*</c>, <c>norm_out.*</c>, <c>proj_out.*</c>.
/// </summary>
public sealed class LatentDenoiser : Module
{
    private readonly Sequential time_mlp;
    private readonly Embedding? class_embedding;
    private readonly Linear proj_in;
    private readonly ModuleList<LatentResBlock> blocks;
    private readonly LayerNorm norm_out;
    private readonly Linear proj_out;
    private readonly int _timeFeatures;

    public LatentDenoiser(int latentDim, DdpmConfig c) : base(nameof(LatentDenoiser))
    {
        _timeFeatures = c.BaseChannels;
        int emb = c.EffectiveTimeEmbedDim, width = c.LatentHidden;
        time_mlp = Sequential(Linear(c.BaseChannels, emb), SiLU(), Linear(emb, emb));
        if (c.Conditional) class_embedding = Embedding(c.NumClasses + 1, emb);
        proj_in = Linear(latentDim, width);
        blocks = ModuleList(Enumerable.Range(0, c.LatentBlocks).Select(_ => new LatentResBlock(width, emb, c.Dropout)).ToArray());
        norm_out = LayerNorm(width);
        proj_out = ModuleInit.Zeroed(Linear(width, latentDim));
        RegisterComponents();
    }

    /// <summary>z_t (B, D), steps t (B), labels (B) or null → ε or v (B, D).</summary>
    public Tensor Forward(Tensor z, Tensor t, Tensor? labels)
    {
        var emb = DiffusionLayers.Conditioning(time_mlp, class_embedding, _timeFeatures, t, labels);   // (B, E)
        var h = proj_in.forward(z);                                                      // (B, W)
        foreach (var block in blocks) h = block.Forward(h, emb);
        return proj_out.forward(functional.silu(norm_out.forward(h)));                  // (B, D)
    }
}
