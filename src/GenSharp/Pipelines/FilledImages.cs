namespace GenSharp.Pipelines;

/// <summary>Images whose unknown pixels a model filled in (inpainting, completion); dispose to free the tensors.</summary>
/// <param name="Fills">(B, PerImage, C, H, W) floats in [0,1] on the CPU; the known pixels equal the inputs'.</param>
/// <param name="Known">The inputs with the unknown pixels mid-grey, (B, C, H, W) in [0,1].</param>
/// <param name="Originals">The inputs, (B, C, H, W) in [0,1].</param>
/// <param name="Sampler">A description of the sampler used.</param>
/// <param name="ImagesPerSecond">Filled images per second.</param>
public sealed record FilledImages(Tensor Fills, Tensor Known, Tensor Originals, string Sampler, double ImagesPerSecond) : IDisposable
{
    /// <summary>One row per input: its known part, its fills, the original — (B·(PerImage + 2), C, H, W), with the row length.</summary>
    public (Tensor Images, int Columns) Rows()
    {
        long b = Fills.shape[0];
        var rows = new List<Tensor>();
        for (long i = 0; i < b; i++)
            rows.Add(torch.cat(new[] { Known.narrow(0, i, 1), Fills[i], Originals.narrow(0, i, 1) }, 0));
        var all = torch.cat(rows, 0);
        foreach (var r in rows) r.Dispose();
        return (all, (int)Fills.shape[1] + 2);
    }

    public void Dispose()
    {
        Fills.Dispose();
        Known.Dispose();
        Originals.Dispose();
    }
}
