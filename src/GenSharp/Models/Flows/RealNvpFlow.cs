using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// The whole RealNVP flow from dequantized images x ∈ [0,1)^(C×H×W) to latents: the logit
/// preprocessing, then the scales; after every scale but the last, the first half of the channels is
/// factored out as a latent z_i with a standard normal prior (Dinh et al. 2017, §3.6, eq. 14).
/// For 28×28×1 and 3 scales the latents are (2,14,14), (4,7,7) and (4,7,7): 784 numbers in all.
/// log p(x) = Σ_i log N(z_i; 0, I) + Σ_layers log|det J|.
/// </summary>
public sealed class RealNvpFlow : nn.Module
{
    private readonly LogitTransform logit;
    private readonly ModuleList<RealNvpScale> scales;
    readonly (long C, long H, long W)[] _latentShapes;

    public RealNvpFlow(RealNvpConfig config) : base(nameof(RealNvpFlow))
    {
        logit = new LogitTransform(config.LogitAlpha);
        var list = new List<RealNvpScale>();
        var shapes = new List<(long, long, long)>();
        long c = config.ImageChannels, s = config.ImageSize;
        for (int i = 0; i < config.Scales; i++)
        {
            bool final = i == config.Scales - 1;
            list.Add(new RealNvpScale(c, final, config));
            if (final) { shapes.Add((c, s, s)); break; }
            c *= 4; s /= 2;                      // after the squeeze: (4C, H/2, W/2)
            shapes.Add((c / 2, s, s));            // factored out: the first half
            c /= 2;                               // kept: the second half
        }
        scales = nn.ModuleList(list.ToArray());
        _latentShapes = shapes.ToArray();
        RegisterComponents();
    }

    /// <summary>Shapes (C, H, W) of the latents, in the order <see cref="Forward(Tensor)"/> returns them.</summary>
    public IReadOnlyList<(long C, long H, long W)> LatentShapes => _latentShapes;

    /// <summary>Total latent size, = C·H·W of the image.</summary>
    public long LatentDim => _latentShapes.Sum(s => s.C * s.H * s.W);

    /// <summary>Latents z_i (B, C_i, H_i, W_i) and the summed log-determinant (B) for x in [0,1).</summary>
    public (List<Tensor> Latents, Tensor LogDet) Forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// Forward, calling <paramref name="inspect"/>(name, output, log-det) after every layer, named by its
    /// checkpoint path (e.g. "scales.0.layers.2").
    /// </summary>
    public (List<Tensor> Latents, Tensor LogDet) Forward(Tensor x, Action<string, Tensor, Tensor>? inspect)
    {
        var (h, logDet) = logit.Forward(x);
        inspect?.Invoke("logit", h, logDet);
        var latents = new List<Tensor>();
        for (int i = 0; i < scales.Count; i++)
        {
            int scale = i;
            var (y, ld) = scales[i].Forward(h, inspect is null ? null : (j, layer, out_, l) => inspect($"scales.{scale}.layers.{j} ({layer.GetName()})", out_, l));
            logDet = logDet + ld;
            if (i == scales.Count - 1) { latents.Add(y); break; }
            long half = y.shape[1] / 2;
            latents.Add(y.narrow(1, 0, half));     // factored out: (B, C/2, H, W)
            h = y.narrow(1, half, half);           // continues to the next scale
        }
        return (latents, logDet);
    }

    /// <summary>x = f⁻¹(z_0, …, z_L), the latents as <see cref="Forward(Tensor)"/> returns them.</summary>
    public Tensor Inverse(IReadOnlyList<Tensor> latents)
    {
        if (latents.Count != scales.Count)
            throw new GenSharpException($"expected {scales.Count} latents, got {latents.Count}");
        var h = latents[^1];
        for (int i = scales.Count - 1; i >= 0; i--)
        {
            if (i < scales.Count - 1) h = torch.cat(new[] { latents[i], h }, 1);
            h = scales[i].Inverse(h);
        }
        return logit.Inverse(h);
    }

    /// <summary>log p(x) in nats per item (B), for x in [0,1) (a density on the unit cube).</summary>
    public Tensor LogProb(Tensor x)
    {
        var (latents, logDet) = Forward(x);
        var logp = logDet;
        foreach (var z in latents) logp = logp + FlowMath.StandardNormalLogProb(z);
        return logp;
    }

    /// <summary>The latents flattened and concatenated: (B, D).</summary>
    public static Tensor Flatten(IEnumerable<Tensor> latents) => torch.cat(latents.Select(z => z.flatten(1)).ToArray(), 1);

    /// <summary>(B, D) → the latents in their shapes.</summary>
    public List<Tensor> Unflatten(Tensor z)
    {
        if (z.dim() != 2 || z.shape[1] != LatentDim)
            throw new GenSharpException($"expected latents of shape (B, {LatentDim}), got ({string.Join(", ", z.shape)})");
        var result = new List<Tensor>();
        long offset = 0;
        foreach (var (c, h, w) in _latentShapes)
        {
            result.Add(z.narrow(1, offset, c * h * w).reshape(z.shape[0], c, h, w));
            offset += c * h * w;
        }
        return result;
    }
}
