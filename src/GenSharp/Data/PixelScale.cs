namespace GenSharp.Data;

/// <summary>Value range that <see cref="ImageTransforms.ToFloat"/> maps 8-bit pixels 0..255 onto.</summary>
public enum PixelScale
{
    /// <summary>0 → 0.0 and 255 → 1.0 (x / 255).</summary>
    ZeroOne,

    /// <summary>0 → -1.0 and 255 → 1.0 (2x / 255 - 1).</summary>
    MinusOneOne,
}
