namespace GenSharp.Models;

/// <summary>
/// Config of a family that models images: the geometry and class count of its training data, which
/// training sets from the data before any override of the config.
/// </summary>
public abstract record ImageFamilyConfig : FamilyConfig
{
    /// <summary>Channels of the training images (set from the data).</summary>
    public int ImageChannels { get; init; } = 1;
    /// <summary>Height = width of the training images (set from the data).</summary>
    public int ImageSize { get; init; } = 28;
    /// <summary>Number of classes in the data (used by conditional models).</summary>
    public int NumClasses { get; init; } = 10;

    public override void Validate()
    {
        base.Validate();
        Require(ImageChannels is 1 or 3, "image_channels", "1 or 3", ImageChannels);
        Require(ImageSize >= 8 && ImageSize % 4 == 0, "image_size", "a multiple of 4, ≥ 8", ImageSize);
        Require(NumClasses >= 1, "num_classes", "≥ 1", NumClasses);
    }

    /// <summary>The image config of a sampler.</summary>
    public static ImageFamilyConfig Of(IImageSampler model) => (ImageFamilyConfig)model.Config;

    /// <summary>The image config of <paramref name="model"/>, or a one-line error when it does not model images.</summary>
    public static ImageFamilyConfig Of(IGenerativeModel model) => model.Config as ImageFamilyConfig
        ?? throw new GenSharpException($"{model.Family} models make text, not images; this command needs an image model");
}
