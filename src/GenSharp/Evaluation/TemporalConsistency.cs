namespace GenSharp.Evaluation;

/// <summary>
/// Frame-to-frame identity of clips: a per-frame classifier labels every frame, and a clip whose garment keeps its
/// identity gets one label throughout. <see cref="Agreement"/> is the mean, over clips, of the share of frames that
/// carry the clip's most common label (1 = every frame agrees; 1/T at worst); <see cref="AllAgree"/> the share of
/// clips whose frames all carry one label.
/// </summary>
public static class TemporalConsistency
{
    /// <summary>Mean share of frames agreeing with their clip's most common label; labels (N, T) integer.</summary>
    public static double Agreement(Tensor frameLabels)
    {
        Check(frameLabels);
        using var scope = torch.NewDisposeScope();
        var labels = frameLabels.cpu().to(ScalarType.Int64);
        var mode = labels.mode(1).values.unsqueeze(1);                              // (N, 1) most common label per clip
        return labels.eq(mode).to(ScalarType.Float64).mean().item<double>();
    }

    /// <summary>Share of clips whose frames all carry one label; labels (N, T) integer.</summary>
    public static double AllAgree(Tensor frameLabels)
    {
        Check(frameLabels);
        using var scope = torch.NewDisposeScope();
        var labels = frameLabels.cpu().to(ScalarType.Int64);
        return labels.eq(labels.narrow(1, 0, 1)).all(1).to(ScalarType.Float64).mean().item<double>();
    }

    static void Check(Tensor labels)
    {
        if (labels.dim() != 2 || labels.shape[0] < 1 || labels.shape[1] < 1)
            throw new ArgumentException($"frame labels must be (N, T), got ({string.Join(", ", labels.shape)})");
    }
}
