using GenSharp.Data;

namespace GenSharp.Models.Video;

/// <summary>Registry entry for <c>videoclassifier</c>: trains on (class, direction) targets of Moving Fashion-MNIST clips.</summary>
public sealed class VideoClassifierFamily() : Family<VideoClassifierConfig>(VideoClassifierModel.FamilyName, (config, device) => new VideoClassifierModel(config, device),
    "3D-CNN classifier of Moving Fashion-MNIST clips (garment class and motion direction); not generative: the feature extractor of the video metrics (FVD-style distance, class and motion accuracy)",
    null, defaultBatchSize: 32), IVideoFamily
{
    public MovingFashionMnistOptions Data(FamilyConfig config) => ((VideoClassifierConfig)config).Data;
    public bool MotionTargets => true;
}
