using System.Text.Json.Serialization;
using GenSharp.Data;

namespace GenSharp.Models.Video;

/// <summary>
/// A small 3D CNN that tells what a Moving Fashion-MNIST clip shows: the first garment's class and the quadrant of its
/// initial velocity. It is the feature extractor of the video metrics (an FVD-style Fréchet distance, class and motion
/// accuracy of generated clips), trained on real train clips; not generative.
/// </summary>
public sealed record VideoClassifierConfig : FamilyConfig
{
    /// <summary>Frames per clip (at least 4: time is pooled twice).</summary>
    public int Frames { get; init; } = 8;
    /// <summary>Side of each frame: 32 or 64.</summary>
    public int FrameSize { get; init; } = 32;
    /// <summary>Garments per training clip (1 or 2; the labels are the first garment's).</summary>
    public int Garments { get; init; } = 1;
    /// <summary>Garment speed in 64×64 canvas pixels per frame.</summary>
    public double Speed { get; init; } = 3.0;
    /// <summary>Garment classes.</summary>
    public int NumClasses { get; init; } = 10;
    /// <summary>Channels of the first 3×3×3 convolution; the next two have 2× and 4× as many.</summary>
    public int Channels { get; init; } = 16;
    /// <summary>Width of the penultimate layer: the feature space of the FVD-style distance.</summary>
    public int FeatureDim { get; init; } = 128;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>The data geometry these settings describe.</summary>
    [JsonIgnore]
    public MovingFashionMnistOptions Data => new() { Frames = Frames, FrameSize = FrameSize, Garments = Garments, Speed = Speed };

    public override void Validate()
    {
        base.Validate();
        RequireIn(Frames, "frames", 4, 64);
        Require(FrameSize is 32 or 64, "frame_size", "32 or 64", FrameSize);
        RequireIn(Garments, "garments", 1, 2);
        Require(Speed > 0 && Speed <= 8, "speed", "in (0, 8]", Speed);
        RequireIn(NumClasses, "num_classes", 2, 1000);
        RequireIn(Channels, "channels", 1, 256);
        RequireIn(FeatureDim, "feature_dim", 2, 4096);
        RequireLearningRate(LearningRate);
    }
}
