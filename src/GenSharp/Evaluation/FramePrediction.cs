namespace GenSharp.Evaluation;

/// <summary>
/// Scores of video prediction: given the first k frames of a clip, how close are the remaining ones to the truth. The
/// error of a frame is the sum over its pixels of the squared difference, pixels in [0, 1] — the convention of the
/// Moving MNIST literature (e.g. SimVP, TAU report this per-frame sum on 64×64 frames); SSIM is per frame
/// (<see cref="Ssim"/>). <see cref="CopyLast"/> gives the trivial baseline every predictor must beat: the last
/// known frame repeated; <see cref="Blank"/> the one that shows what the sum of squares rewards: black frames, which
/// on a mostly black canvas already score about as well as copy-last.
/// </summary>
public static class FramePrediction
{
    /// <summary>Clips (N, T, C, H, W) with every frame from <paramref name="known"/> on replaced by frame known − 1.</summary>
    public static Tensor CopyLast(Tensor clips, int known)
    {
        CheckKnown(clips, known);
        using var scope = torch.NewDisposeScope();
        long frames = clips.shape[1];
        var last = clips.narrow(1, known - 1, 1).expand(-1, frames - known, -1, -1, -1);   // (N, T−k, C, H, W)
        return torch.cat(new[] { clips.narrow(1, 0, known), last }, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Clips (N, T, C, H, W) with every frame from <paramref name="known"/> on black (zero).</summary>
    public static Tensor Blank(Tensor clips, int known)
    {
        CheckKnown(clips, known);
        var blank = clips.clone();
        blank.narrow(1, known, clips.shape[1] - known).zero_();
        return blank;
    }

    /// <summary>
    /// Scores frames known … T−1 of <paramref name="predicted"/> against <paramref name="truth"/>; both (N, T, 1, S, S)
    /// in [0, 1] (float) on any device.
    /// </summary>
    public static PredictionScores Score(Tensor predicted, Tensor truth, int known)
    {
        if (!predicted.shape.SequenceEqual(truth.shape) || truth.dim() != 5 || truth.shape[2] != 1)
            throw new ArgumentException($"predicted and true clips must both be (N, T, 1, S, S), got ({string.Join(", ", predicted.shape)}) and ({string.Join(", ", truth.shape)})");
        CheckKnown(truth, known);
        using var scope = torch.NewDisposeScope();
        long n = truth.shape[0], future = truth.shape[1] - known, s = truth.shape[3];
        var p = predicted.narrow(1, known, future).cpu().to(ScalarType.Float64);              // (N, F, 1, S, S)
        var t = truth.narrow(1, known, future).cpu().to(ScalarType.Float64);
        var sse = (p - t).square().sum(new long[] { 2, 3, 4 });                                 // (N, F) per-frame sum of squares
        var pf = p.reshape(n * future, 1, s, s);
        var tf = t.reshape(n * future, 1, s, s);
        var ssim = Ssim.Compute(pf, tf).reshape(n, future);                                     // (N, F)
        var centroid = (GarmentCrops.Centroids(pf) - GarmentCrops.Centroids(tf)).square().sum(1).sqrt().reshape(n, future); // (N, F)
        double[] ByFrame(Tensor v) => v.mean(new long[] { 0 }).data<double>().ToArray();
        return new PredictionScores(
            sse.mean().item<double>(),
            sse.mean().item<double>() / (s * s),
            ssim.mean().item<double>(),
            centroid.mean().item<double>(),
            ByFrame(sse), ByFrame(ssim), ByFrame(centroid));
    }

    static void CheckKnown(Tensor clips, int known)
    {
        if (clips.dim() != 5) throw new ArgumentException($"clips must be (N, T, C, H, W), got ({string.Join(", ", clips.shape)})");
        if (known < 1 || known >= clips.shape[1])
            throw new ParameterException("known_frames", $"must be in [1, {clips.shape[1] - 1}] for clips of {clips.shape[1]} frames, got {known}");
    }
}
