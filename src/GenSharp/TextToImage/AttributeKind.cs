namespace GenSharp.TextToImage;

/// <summary>The measured attributes a caption can mention (see <see cref="ImageAttributes"/> for the definitions).</summary>
public enum AttributeKind
{
    /// <summary>dark / light: mean foreground intensity.</summary>
    Brightness,
    /// <summary>small / large: foreground area.</summary>
    Size,
    /// <summary>narrow / wide: bounding-box aspect ratio.</summary>
    Width,
    /// <summary>plain / patterned: adjacent-pixel differences inside the garment.</summary>
    Pattern,
    /// <summary>low-contrast / high-contrast: standard deviation of foreground intensity.</summary>
    Contrast,
}
