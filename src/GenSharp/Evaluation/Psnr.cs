namespace GenSharp.Evaluation;

/// <summary>Peak signal-to-noise ratio for images in [0, 1].</summary>
public static class Psnr
{
    /// <summary>Per-image PSNR in dB, 10·log10(1 / MSE), for (B, ...) tensors in [0, 1]. Returns (B).</summary>
    public static Tensor PerImage(Tensor reference, Tensor test)
    {
        var mse = (reference - test).pow(2).flatten(1).mean(new long[] { 1 }); // (B)
        return -10.0 * torch.log10(mse.clamp_min(1e-10));
    }
}
