using GenSharp.Media;

namespace GenSharp.Pipelines;

/// <summary>Known-pixel masks for inpainting, by name or from an image.</summary>
public static class InpaintMasks
{
    /// <summary>The preset names <see cref="FromSpec(string, int, long)"/> knows.</summary>
    public static readonly IReadOnlyList<string> Presets = ["top", "bottom", "left", "right", "center", "random"];

    /// <summary>
    /// A known-pixel mask (true = keep) from a preset — <c>top</c>, <c>bottom</c>, <c>left</c>, <c>right</c> (that half
    /// known), <c>center</c> (all but a central square of half the side known), <c>random</c> (each pixel known with
    /// probability ½, seeded) — or an image file (white = known, black = generate; one tile for all images or one per
    /// image). Returns (1 or N, 1, size, size) bool.
    /// </summary>
    public static Tensor FromSpec(string spec, int size, long seed) => FromSpec(spec, size, size, seed, tiles: true);

    /// <summary>
    /// As <see cref="FromSpec(string, int, long)"/> for <paramref name="height"/>×<paramref name="width"/> images: the
    /// presets halve each side (center: a central box of half each side unknown); a mask file must be exactly that size.
    /// Returns (1, 1, height, width) bool.
    /// </summary>
    public static Tensor FromSpec(string spec, int height, int width, long seed) => FromSpec(spec, height, width, seed, tiles: false);

    static Tensor FromSpec(string spec, int height, int width, long seed, bool tiles)
    {
        var rows = torch.arange(height).reshape(1, 1, height, 1);
        var cols = torch.arange(width).reshape(1, 1, 1, width);
        int halfH = height / 2, halfW = width / 2, qH = height / 4, qW = width / 4;
        switch (spec)
        {
            case "top": return (rows < halfH).expand(1, 1, height, width).clone();
            case "bottom": return (rows >= halfH).expand(1, 1, height, width).clone();
            case "left": return (cols < halfW).expand(1, 1, height, width).clone();
            case "right": return (cols >= halfW).expand(1, 1, height, width).clone();
            case "center": return ((rows >= qH) & (rows < qH + halfH) & (cols >= qW) & (cols < qW + halfW)).logical_not();
            case "random":
                using (var gen = new Generator((ulong)seed))
                    return torch.rand(new long[] { 1, 1, height, width }, generator: gen) < 0.5;
        }
        if (!File.Exists(spec))
            throw new ParameterException("mask", $"{spec}: not a file; give a PNG/.npy mask (white = known) or one of {string.Join(", ", Presets)}");
        if (tiles) return ImageInput.Load(spec, 1, height) > 127;
        using var whole = ImageInput.LoadWhole(spec, 1);
        if (whole.shape[2] != height || whole.shape[3] != width)
            throw new ParameterException("mask", $"{spec} is {whole.shape[3]}×{whole.shape[2]} pixels; the image is {width}×{height}: give a mask of the same size");
        return whole.narrow(0, 0, 1) > 127;
    }
}
