using GenSharp.Data;
using GenSharp.Media;
using GenSharp.Models;
using GenSharp.Pipelines;

namespace GenSharp.Training;

/// <summary>Pictures a training run leaves beside its checkpoint (autoencoders: reconstructions and interpolations).</summary>
public static class AutoencoderPictures
{
    /// <summary>Writes a grid: a row of test images over a row of their reconstructions.</summary>
    public static void WriteReconstructions(IAutoencoder ae, ImageDataset data, string path, int n = 16)
    {
        var (x, r) = Interpolation.Reconstruct(ae, data, n);
        using (x) using (r) ImageFiles.SaveRows(new[] { x, r }, path);
    }

    /// <summary>Writes latent interpolation strips between test images of different classes, one row per pair.</summary>
    public static void WriteInterpolation(IAutoencoder ae, ImageDataset data, string path, int pairs = 4, int steps = 10)
    {
        var rows = Interpolation.Run(ae, data, pairs, steps);
        if (rows.Count > 0) ImageFiles.SaveRows(rows, path);
        foreach (var t in rows) t.Dispose();
    }
}
