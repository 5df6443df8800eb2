using GenSharp.Data;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>Walks in an autoencoder's latent space: reconstructions and straight lines between images.</summary>
public static class Interpolation
{
    /// <summary>
    /// For <paramref name="pairs"/> pairs of test images of different classes, the decoded (1 − t)·z₀ + t·z₁ for
    /// <paramref name="steps"/> values of t from 0 to 1: one tensor (steps, C, H, W) in [0,1] per pair, on the CPU.
    /// </summary>
    public static List<Tensor> Run(IAutoencoder model, ImageDataset data, int pairs = 4, int steps = 10)
    {
        if (pairs < 1 || pairs > 64) throw new ParameterException("pairs", $"must be in [1, 64], got {pairs}");
        if (steps < 2 || steps > 64) throw new ParameterException("steps", $"must be in [2, 64], got {steps}");
        var rows = new List<Tensor>();
        var labels = data.Labels.data<long>().ToArray();
        int a = 0;
        for (int p = 0; p < pairs && a < data.Count; p++)
        {
            int b = Array.FindIndex(labels, a + 1, l => l != labels[a]);
            if (b < 0) break;
            using var scope = torch.NewDisposeScope();
            var idx = torch.tensor(new long[] { a, b });
            var z = model.Encode(data.Images.index_select(0, idx));                     // (2, D)
            var t = torch.linspace(0, 1, steps, device: z.device).unsqueeze(1);       // (steps, 1)
            var zs = z[0].unsqueeze(0) * (1 - t) + z[1].unsqueeze(0) * t;             // (steps, D)
            rows.Add(model.Decode(zs).cpu().MoveToOuterDisposeScope());
            a = b + 1;
        }
        return rows;
    }

    /// <summary>The first <paramref name="n"/> images of <paramref name="data"/> in [0,1] and their reconstructions, both (n, C, H, W) on the CPU.</summary>
    public static (Tensor Images, Tensor Reconstructions) Reconstruct(IAutoencoder model, ImageDataset data, int n = 16)
    {
        using var scope = torch.NewDisposeScope();
        var x = ImageTransforms.ToFloat(data.Images.narrow(0, 0, Math.Min(n, data.Count)), PixelScale.ZeroOne);
        var r = model.Reconstruct(x).cpu();
        return (x.MoveToOuterDisposeScope(), r.MoveToOuterDisposeScope());
    }
}
