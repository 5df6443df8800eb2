using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>One scale of Glow (Kingma &amp; Dhariwal 2018, Fig. 2b): squeeze, K steps of flow, then (except at the top) a split.</summary>
public sealed class GlowLevel : nn.Module
{
    readonly Squeeze _squeeze = new();
    private readonly ModuleList<GlowStep> steps;
    private readonly GlowSplit? split;

    /// <param name="channels">Channels after the squeeze.</param>
    /// <param name="config">Depth, width and 1×1-conv form.</param>
    /// <param name="level">Index of this level, for error messages.</param>
    /// <param name="hasSplit">Factor out half the channels at the end.</param>
    public GlowLevel(long channels, GlowConfig config, int level, bool hasSplit) : base(nameof(GlowLevel))
    {
        steps = new ModuleList<GlowStep>(Enumerable.Range(0, config.StepsPerLevel)
            .Select(k => new GlowStep(channels, config.HiddenChannels, config.LuDecomposed, $"level {level}, step {k}")).ToArray());
        split = hasSplit ? new GlowSplit(channels) : null;
        RegisterComponents();
    }

    /// <summary>The steps of flow, in forward order.</summary>
    public IReadOnlyList<GlowStep> Steps => steps.ToList();
    /// <summary>The split at the end of the level, or null at the top.</summary>
    public GlowSplit? Split => split;

    /// <summary>
    /// h (B,C,H,W) → (h' (B,4C or 2C,H/2,W/2), factored z or null, Σ log-dets (B), log p(z | h') or 0 (B)).
    /// </summary>
    public (Tensor H, Tensor? Z, Tensor LogDet, Tensor LogProb) Forward(Tensor h)
    {
        var (x, logDet) = _squeeze.Forward(h);
        foreach (var step in steps)
        {
            var (y, ld) = step.Forward(x);
            x = y;
            logDet = logDet + ld;
        }
        if (split is null) return (x, null, logDet, torch.zeros_like(logDet));
        var (kept, z, logProb) = split.Forward(x);
        return (kept, z, logDet, logProb);
    }

    /// <summary>Inverse of <see cref="Forward"/>; a null <paramref name="z"/> is drawn from the split prior at <paramref name="temperature"/>.</summary>
    public Tensor Inverse(Tensor h, Tensor? z, double temperature)
    {
        var x = split is null ? h : split.Inverse(h, z, temperature);
        for (int k = steps.Count - 1; k >= 0; k--) x = steps[k].Inverse(x);
        return _squeeze.Inverse(x);
    }
}
