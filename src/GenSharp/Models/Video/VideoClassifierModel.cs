using GenSharp.Data;
using GenSharp.Training;

namespace GenSharp.Models.Video;

/// <summary>
/// <c>videoclassifier</c>: a <see cref="VideoClassifierNetwork"/> trained with the sum of two cross-entropies (garment
/// class, motion direction) on real Moving Fashion-MNIST train clips, whose targets are (B, 2): class, direction. Not
/// generative; the video metrics (<see cref="Pipelines.VideoEvaluation"/>) use its heads and features.
/// </summary>
public sealed class VideoClassifierModel : FamilyModel<VideoClassifierConfig, VideoClassifierNetwork>, IVideoClassifier
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "videoclassifier";

    public VideoClassifierModel(VideoClassifierConfig config, Device device)
        : base(FamilyName, config, new VideoClassifierNetwork(config, MovingFashionMnist.Directions), device) { }

    /// <summary>Adam.</summary>
    public override IReadOnlyList<OptimizerSpec> OptimizerSpecs =>
        new[] { OptimizerSpec.Single("videoclassifier", OptimizerAlgorithm.Adam, _net.parameters(), _config.LearningRate) };
    public override IReadOnlyCollection<string> LossMetrics => new[] { "loss", "class_loss", "direction_loss" };

    public int Frames => _config.Frames;
    public int FrameSize => _config.FrameSize;
    public int NumClasses => _config.NumClasses;
    public int Directions => MovingFashionMnist.Directions;
    public int FeatureDim => _config.FeatureDim;

    /// <summary>Cross-entropy of the class head plus that of the direction head, for uint8 clips (B, T, 1, S, S) and targets (B, 2).</summary>
    public Tensor Loss(Tensor clips, Tensor targets, StepContext? ctx = null)
    {
        var x = clips.to(ScalarType.Float32).to(Device) / 255;                 // (B, T, 1, S, S) in [0, 1]
        var y = targets.to(Device);
        var (cls, dir, _) = _net.Forward(x);
        var classLoss = nn.functional.cross_entropy(cls, y[.., 0]);
        var directionLoss = nn.functional.cross_entropy(dir, y[.., 1]);
        if (ctx is not null)
        {
            ctx.Log("class_loss", classLoss);
            ctx.Log("direction_loss", directionLoss);
            ctx.Log("class_accuracy", cls.detach().argmax(1).eq(y[.., 0]).to(ScalarType.Float32).mean());
            ctx.Log("direction_accuracy", dir.detach().argmax(1).eq(y[.., 1]).to(ScalarType.Float32).mean());
        }
        return classLoss + directionLoss;
    }

    public override IEnumerable<LossTerm> TrainStep(Tensor clips, Tensor targets, StepContext ctx)
    {
        if (targets.dim() != 2 || targets.shape[1] != 2)
            throw new GenSharpException($"videoclassifier trains on (B, 2) targets (class, direction), got ({string.Join(", ", targets.shape)})");
        _net.train();
        var loss = Loss(clips, targets, ctx);
        ctx.Log("loss", loss);
        yield return new LossTerm(0, loss);
    }

    public (Tensor ClassLogits, Tensor DirectionLogits, Tensor Features) Classify(Tensor clips01)
    {
        if (clips01.dim() != 5 || clips01.shape[1] != Frames || clips01.shape[2] != 1 || clips01.shape[3] != FrameSize || clips01.shape[4] != FrameSize)
            throw new GenSharpException($"videoclassifier takes clips of {Frames} frames of 1×{FrameSize}×{FrameSize}, got ({string.Join(", ", clips01.shape)})");
        using var _ = torch.no_grad();
        _net.eval();
        return _net.Forward(clips01.to(ScalarType.Float32).to(Device));
    }
}
