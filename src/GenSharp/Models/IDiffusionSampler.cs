using GenSharp.Sampling;

namespace GenSharp.Models;

/// <summary>
/// A diffusion model that samples with any <see cref="DiffusionScheduler"/> (DDPM, DDIM, ...) chosen at sampling
/// time, so one checkpoint serves every scheduler and step count without retraining.
/// </summary>
public interface IDiffusionSampler
{
    /// <summary>Diffusion steps T the model was trained with.</summary>
    int TrainTimesteps { get; }

    /// <summary>
    /// A scheduler <paramref name="name"/> (one of <see cref="GenSharp.Sampling.Schedulers.Names"/>) over the model's noise schedule and prediction
    /// type, set to <paramref name="steps"/> sampling steps (1 ≤ steps ≤ T); <paramref name="eta"/> is DDIM's η.
    /// </summary>
    DiffusionScheduler CreateScheduler(string name, int steps, double eta = 0);

    /// <summary>
    /// Runs the reverse process from x_T ~ N(0, I) with <paramref name="scheduler"/> and returns n images in
    /// [0,1], (n, C, H, W) on the CPU. Conditional models: <paramref name="labels"/> (n) picks the classes (null =
    /// random classes); classifier-free guidance (Ho &amp; Salimans 2022, eq. 6 with w here = 1 + w there):
    /// ε̂ = ε_uncond + w·(ε_cond − ε_uncond), so w = 0 gives exactly the unconditional ("no class") model,
    /// w = 1 the plain conditional one, w &gt; 1 sharper classes; both passes run as one batched forward.
    /// Unconditional models ignore <paramref name="guidanceScale"/>. Noise comes from <paramref name="gen"/>
    /// (a CPU generator) or, when null, torch's global generator. <paramref name="onStep"/>(i, x) is called
    /// with x_T (i = 0) and after every step (i = 1 … steps; the last call gets x_0), in the model's [-1, 1] scale,
    /// (n, C, H, W) on the model's device (for denoising strips and animations; copy what you keep).
    /// </summary>
    Tensor Sample(int n, Tensor? labels, DiffusionScheduler scheduler, double guidanceScale, Generator? gen,
                  Action<int, Tensor>? onStep = null);
}
