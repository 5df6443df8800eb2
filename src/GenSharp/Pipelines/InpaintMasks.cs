using GenSharp.Media;

namespace GenSharp.Pipelines;

/// <summary>Known-pixel masks for inpainting, by name or from an image.</summary>
public static class InpaintMasks
{
    /// <summary>The preset names <see cref="FromSpec"/> knows.</summary>
    public static readonly IReadOnlyList<string> Presets = ["top", "bottom", "left", "right", "center", "random"];

    /// <summary>
    /// A known-pixel mask (true = keep) from a preset — <c>top</c>, <c>bottom</c>, <c>left</c>, <c>right</c> (that half
    /// known), <c>center</c> (all but a central square of half the side known), <c>random</c> (each pixel known with
    /// probability ½, seeded) — or an image file (white = known, black = generate; one tile for all images or one per
    /// image). Returns (1 or N, 1, size, size) bool.
    /// </summary>
    public static Tensor FromSpec(string spec, int size, long seed)
    {
        var rows = torch.arange(size).reshape(1, 1, size, 1);
        var cols = torch.arange(size).reshape(1, 1, 1, size);
        int half = size / 2, q = size / 4;
        switch (spec)
        {
            case "top": return (rows < half).expand(1, 1, size, size).clone();
            case "bottom": return (rows >= half).expand(1, 1, size, size).clone();
            case "left": return (cols < half).expand(1, 1, size, size).clone();
            case "right": return (cols >= half).expand(1, 1, size, size).clone();
            case "center": return ((rows >= q) & (rows < q + half) & (cols >= q) & (cols < q + half)).logical_not();
            case "random":
                using (var gen = new Generator((ulong)seed))
                    return torch.rand(new long[] { 1, 1, size, size }, generator: gen) < 0.5;
        }
        if (!File.Exists(spec))
            throw new ParameterException("mask", $"{spec}: not a file; give a PNG/.npy mask (white = known) or one of {string.Join(", ", Presets)}");
        return ImageInput.Load(spec, 1, size) > 127;
    }
}
