namespace GenSharp.Models;

/// <summary>
/// Base of every family's config record. Configs are immutable, round-trip through JSON
/// (snake_case names) and are validated up front with a message naming the field and its range.
/// </summary>
public abstract record FamilyConfig
{
    /// <summary>Channels of the training images (set from the data).</summary>
    public int ImageChannels { get; init; } = 1;
    /// <summary>Height = width of the training images (set from the data).</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>Number of classes in the data (used by conditional models).</summary>
    public int NumClasses { get; init; } = 10;

    /// <summary>Throws <see cref="GenSharpException"/> naming the first invalid field.</summary>
    public virtual void Validate()
    {
        Require(ImageChannels is 1 or 3, "image_channels", "1 or 3", ImageChannels);
        Require(ImageSize >= 8 && ImageSize % 4 == 0, "image_size", "a multiple of 4, ≥ 8", ImageSize);
        Require(NumClasses >= 1, "num_classes", "≥ 1", NumClasses);
    }

    /// <summary>Throws a one-line error when <paramref name="ok"/> is false.</summary>
    protected static void Require(bool ok, string field, string allowed, object value)
    {
        if (!ok) throw new GenSharpException($"config field {field} must be {allowed}, got {value}");
    }
}
