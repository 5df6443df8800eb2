using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// The Glow flow x → (z_1, …, z_L) for inputs x in [−0.5, 0.5) (Kingma &amp; Dhariwal 2018, Fig. 2b).
/// Latents in order: the half factored out at the end of each level 1 … L−1, then the top.
/// Priors: each factored half ~ N(μ, σ²) from a zero-initialised conv of the kept half
/// (<see cref="GlowSplit"/>); the top latent ~ N(top_mean, exp(top_log_std)²) with a learned mean and
/// log-std per location and channel, zero-initialised (so N(0, I) at the start).
/// For 28×28×1 and L = 2: 28×28×1 → squeeze 14×14×4 → K steps → split (2 out, 2 kept) → squeeze
/// 7×7×8 → K steps → top.
/// </summary>
public sealed class GlowNetwork : nn.Module
{
    private readonly ModuleList<GlowLevel> levels;
    private readonly Parameter top_mean;      // (1, C_top, H_top, W_top)
    private readonly Parameter top_log_std;   // (1, C_top, H_top, W_top)
    readonly long[][] _latentShapes;

    public GlowNetwork(GlowConfig config) : base(nameof(GlowNetwork))
    {
        long c = config.ImageChannels, s = config.ImageSize;
        var list = new List<GlowLevel>();
        var shapes = new List<long[]>();
        for (int i = 0; i < config.Levels; i++)
        {
            c *= 4;
            s /= 2;
            bool hasSplit = i < config.Levels - 1;
            list.Add(new GlowLevel(c, config, i, hasSplit));
            if (hasSplit)
            {
                shapes.Add(new[] { c - c / 2, s, s });
                c /= 2;
            }
        }
        shapes.Add(new[] { c, s, s });
        _latentShapes = shapes.ToArray();
        levels = new ModuleList<GlowLevel>(list.ToArray());
        top_mean = new Parameter(torch.zeros(1, c, s, s));
        top_log_std = new Parameter(torch.zeros(1, c, s, s));
        RegisterComponents();
    }

    /// <summary>Per-item shapes (C,H,W) of the latents, factored-out ones first, top last.</summary>
    public IReadOnlyList<long[]> LatentShapes => _latentShapes;
    /// <summary>The levels, bottom first.</summary>
    public IReadOnlyList<GlowLevel> Levels => levels.ToList();

    /// <summary>
    /// x (B,C,H,W) in [−0.5, 0.5) → latents, Σ log|det ∂f/∂x| (B) and Σ log prior of the latents (B);
    /// log p(x) = LogPrior + LogDet.
    /// </summary>
    public (List<Tensor> Latents, Tensor LogDet, Tensor LogPrior) Forward(Tensor x)
    {
        var latents = new List<Tensor>();
        var logDet = torch.zeros(x.shape[0], dtype: x.dtype, device: x.device);
        var logPrior = torch.zeros(x.shape[0], dtype: x.dtype, device: x.device);
        var h = x;
        foreach (var level in levels)
        {
            var (next, z, ld, lp) = level.Forward(h);
            h = next;
            logDet = logDet + ld;
            logPrior = logPrior + lp;
            if (z is not null) latents.Add(z);
        }
        latents.Add(h);
        logPrior = logPrior + FlowMath.GaussianLogProb(h, top_mean, top_log_std);
        return (latents, logDet, logPrior);
    }

    /// <summary>log p(x) per item (B) for x in [−0.5, 0.5).</summary>
    public Tensor LogDensity(Tensor x)
    {
        var (_, logDet, logPrior) = Forward(x);
        return logPrior + logDet;
    }

    /// <summary>
    /// Latents → x. Latents that are null (or all of them when <paramref name="latents"/> is null) are
    /// drawn from their priors with σ scaled by <paramref name="temperature"/>; <paramref name="n"/> is the batch size.
    /// </summary>
    public Tensor Inverse(IReadOnlyList<Tensor?>? latents, long n, double temperature)
    {
        var top = latents?[^1];
        if (top is null)
        {
            var noise = torch.randn(new[] { n, top_mean.shape[1], top_mean.shape[2], top_mean.shape[3] }, dtype: top_mean.dtype, device: top_mean.device);
            top = top_mean + temperature * top_log_std.exp() * noise;
        }
        var h = top;
        int zi = levels.Count - 2;                                               // index of the level's factored latent
        for (int i = levels.Count - 1; i >= 0; i--)
        {
            var level = levels[i];
            Tensor? z = level.Split is null ? null : latents?[zi--];
            h = level.Inverse(h, z, temperature);
        }
        return h;
    }

    /// <summary>Concatenates latents into (B, D), each flattened in (C,H,W) order.</summary>
    public static Tensor Flatten(IReadOnlyList<Tensor> latents) => torch.cat(latents.Select(z => z.flatten(1)).ToArray(), 1);

    /// <summary>Inverse of <see cref="Flatten"/>: (B, D) → latents with <see cref="LatentShapes"/>.</summary>
    public List<Tensor> Unflatten(Tensor flat)
    {
        var result = new List<Tensor>();
        long offset = 0, b = flat.shape[0];
        foreach (var shape in _latentShapes)
        {
            long size = shape[0] * shape[1] * shape[2];
            result.Add(flat.narrow(1, offset, size).reshape(b, shape[0], shape[1], shape[2]));
            offset += size;
        }
        if (offset != flat.shape[1])
            throw new GenSharpException($"glow latents have {offset} dimensions, got {flat.shape[1]}");
        return result;
    }
}
