namespace GenSharp.Models;

/// <summary>
/// A diffusion model that can carry a Tree-Ring watermark: its deterministic DDIM sampler starts from a marked x_T,
/// and DDIM inversion brings an image back to (an estimate of) its x_T for detection.
/// </summary>
public interface ITreeRingSampler
{
    /// <summary>Shape of one x_T: (C, H, W) in pixel space, (D) for a latent vector.</summary>
    long[] NoiseShape { get; }

    /// <summary>Whether <paramref name="options"/> sample with deterministic DDIM (η = 0), which carries a mark in x_T into the image.</summary>
    bool CarriesTreeRing(SamplerOptions options);

    /// <summary>The DDIM steps these options sample with (inversion uses as many).</summary>
    int InversionSteps(SamplerOptions options);

    /// <summary>Samples as <see cref="IImageSampler.Sample"/> does, passing the initial noise x_T (n, …) through <paramref name="markNoise"/> first.</summary>
    Tensor Sample(int n, Tensor? labels, SamplerOptions options, Generator? generator, Action<int, Tensor>? onStep, Func<Tensor, Tensor> markNoise);

    /// <summary>
    /// DDIM inversion (Song et al. 2021 §4.3; Dhariwal &amp; Nichol 2021 App. F): runs the deterministic DDIM update
    /// backwards from images (N, C, H, W) in [0, 1] to x_T with <paramref name="steps"/> steps, without a class
    /// (the unconditional model). Returns x_T (N, …) on the CPU.
    /// </summary>
    Tensor InvertToNoise(Tensor images01, int steps);
}
