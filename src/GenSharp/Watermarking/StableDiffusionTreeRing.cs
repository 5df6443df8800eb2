using GenSharp.Models.StableDiffusion;

namespace GenSharp.Watermarking;

/// <summary>Tree-Ring marks for Stable Diffusion folders: the key in the last channel of the initial latent noise.</summary>
public static class StableDiffusionTreeRing
{
    /// <summary>
    /// The options with <see cref="StableDiffusionOptions.InitialNoise"/> set to the seeded draw carrying the key's mark,
    /// when the draw can carry one: text-to-image (no init image), a deterministic solver (ddim, euler, dpm++2m), a size
    /// the model draws and a latent plane with enough frequencies. Otherwise the options unchanged and <c>false</c>.
    /// </summary>
    public static (StableDiffusionOptions Options, bool Marked) Apply(StableDiffusionPipeline sd, StableDiffusionOptions o, WatermarkKey key)
    {
        if (o.Init is not null || o.InitialNoise is not null || !StableDiffusionPipeline.CarriesTreeRing(o.Scheduler) || !sd.FitsSize(o.Width, o.Height) || o.Count < 1)
            return (o, false);
        var shape = sd.NoiseShape(o.Width, o.Height);
        var ring = new TreeRingWatermark(key, shape);
        if (!ring.Detectable) return (o, false);
        using var noise = StableDiffusionPipeline.SeededNoise(o.Seed, o.Count, shape);
        return (o with { InitialNoise = ring.Mark(noise).DetachFromDisposeScope() }, true);
    }
}
