using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace GenSharp.Models.Video;

/// <summary>
/// The network of <c>videoclassifier</c>: three 3×3×3 convolutions (batch norm, ReLU), each followed by a max-pool that
/// halves the frame (the last two also halve time), spatial average pooling, and the remaining time steps flattened
/// in order — so the features know when something moved, which the direction of the first velocity needs once a
/// garment has bounced — into a ReLU feature layer with two linear heads: class and direction.
/// </summary>
public sealed class VideoClassifierNetwork : Module
{
    // Field names are the checkpoint keys.
    private readonly Sequential blocks;
    private readonly Linear features;
    private readonly Linear class_head;
    private readonly Linear direction_head;

    public VideoClassifierNetwork(VideoClassifierConfig c, int directions) : base(nameof(VideoClassifierNetwork))
    {
        int c1 = c.Channels, c2 = 2 * c.Channels, c3 = 4 * c.Channels;
        blocks = Sequential(
            Conv3d(1, c1, 3, padding: 1), BatchNorm3d(c1), ReLU(), MaxPool3d(new long[] { 1, 2, 2 }),
            Conv3d(c1, c2, 3, padding: 1), BatchNorm3d(c2), ReLU(), MaxPool3d(new long[] { 2, 2, 2 }),
            Conv3d(c2, c3, 3, padding: 1), BatchNorm3d(c3), ReLU(), MaxPool3d(new long[] { 2, 2, 2 }));
        long steps = c.Frames / 2 / 2;
        features = Linear(c3 * steps, c.FeatureDim);
        class_head = Linear(c.FeatureDim, c.NumClasses);
        direction_head = Linear(c.FeatureDim, directions);
        RegisterComponents();
    }

    /// <summary>Clips (B, T, 1, S, S) float in [0, 1] → class logits (B, classes), direction logits (B, directions), features (B, D).</summary>
    public (Tensor Classes, Tensor Directions, Tensor Features) Forward(Tensor clips01)
    {
        var h = blocks.forward(clips01.permute(0, 2, 1, 3, 4));              // (B, 4C, T/4, S/8, S/8)
        h = h.mean(new long[] { 3, 4 }).flatten(1);                           // (B, 4C·T/4), time steps in order
        var f = functional.relu(features.forward(h));                         // (B, D)
        return (class_head.forward(f), direction_head.forward(f), f);
    }
}
