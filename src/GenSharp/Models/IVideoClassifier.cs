namespace GenSharp.Models;

/// <summary>
/// A classifier of Moving Fashion-MNIST clips: the first garment's class, its motion direction, and the penultimate
/// features the FVD-style distance compares in.
/// </summary>
public interface IVideoClassifier
{
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>Frames per clip it classifies.</summary>
    int Frames { get; }
    /// <summary>Side of each frame.</summary>
    int FrameSize { get; }
    /// <summary>Garment classes.</summary>
    int NumClasses { get; }
    /// <summary>Motion classes (the quadrant of the initial velocity).</summary>
    int Directions { get; }
    /// <summary>Width of the features.</summary>
    int FeatureDim { get; }

    /// <summary>
    /// Class logits (B, classes), direction logits (B, directions) and features (B, feature_dim), float32 on the model's
    /// device, for clips (B, T, 1, S, S) in [0, 1]; no gradients.
    /// </summary>
    (Tensor ClassLogits, Tensor DirectionLogits, Tensor Features) Classify(Tensor clips01);
}
