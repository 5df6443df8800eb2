using GenSharp.Data;

namespace GenSharp.Models;

/// <summary>
/// An image classifier: class logits, the penultimate features the sample-quality metrics compare in (FD-cls, KID,
/// precision/recall), and its own test accuracy.
/// </summary>
public interface IImageClassifier
{
    /// <summary>Number of classes of <see cref="Logits"/>.</summary>
    int NumClasses { get; }
    /// <summary>Channels of the images it classifies.</summary>
    int ImageChannels { get; }
    /// <summary>Height = width of the images it classifies.</summary>
    int ImageSize { get; }
    /// <summary>Width of <see cref="Features"/>.</summary>
    int FeatureDim { get; }
    /// <summary>Device the model lives on.</summary>
    Device Device { get; }
    /// <summary>Penultimate features (B, feature_dim), float32 on the model's device, for float images in [0,1] (B,C,H,W).</summary>
    Tensor Features(Tensor images01);
    /// <summary>Class logits (B, classes), float32 on the model's device, for float images in [0,1] (B,C,H,W).</summary>
    Tensor Logits(Tensor images01);
    /// <summary>Logits and features from one forward pass.</summary>
    (Tensor Logits, Tensor Features) LogitsAndFeatures(Tensor images01);
    /// <summary>Accuracy, mean cross-entropy (nats), per-class accuracy (<c>accuracy_class_K</c>) and the item count on labelled data.</summary>
    Dictionary<string, double> Evaluate(ImageDataset data, int batchSize = 500, Action<int, int>? progress = null);
}
