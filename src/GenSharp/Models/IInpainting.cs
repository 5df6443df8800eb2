using GenSharp.Sampling;

namespace GenSharp.Models;

/// <summary>A diffusion model that fills the unknown region of images and keeps the known pixels.</summary>
public interface IInpainting
{
    /// <summary>
    /// Keeps the pixels of raw uint8 <paramref name="images"/> (B, C, H, W) where <paramref name="knownMask"/>
    /// (broadcastable to the images, e.g. (B, 1, H, W); 1 = known, 0 = generate) is set, and samples the rest
    /// with <paramref name="scheduler"/>. Returns float images in [0,1], (B, C, H, W) on the CPU whose known
    /// pixels equal the input's exactly. <paramref name="labels"/> (B) for conditional models (null = the
    /// "no class" model). Noise from <paramref name="gen"/> or torch's global generator.
    /// With <paramref name="resample"/> &gt; 1, RePaint's resampling (see <see cref="RePaintPlan"/>) runs every
    /// segment of <paramref name="jump"/> steps that many times (null jump: 10, or the step count if smaller).
    /// </summary>
    Tensor Inpaint(Tensor images, Tensor knownMask, Tensor? labels, DiffusionScheduler scheduler, Generator? gen,
                   int resample = 1, int? jump = null);
}
