namespace GenSharp.Models.Energy;

/// <summary>
/// Convolutional energy-based model E(x) on images scaled to [-1, 1], p(x) ∝ exp(−E(x)), trained by contrastive
/// divergence with short-run Langevin dynamics from a replay buffer (Du &amp; Mordatch 2019, "Implicit Generation and
/// Generalization in Energy-Based Models", arXiv:1903.08689). One Langevin step is
/// x ← x − (langevin_step / 2)·∇ₓE(x) + langevin_noise·ξ, ξ ~ N(0, I); with langevin_noise² = langevin_step it is the
/// unadjusted Langevin algorithm targeting exp(−E) (Welling &amp; Teh 2011, eq. 4); short-run EBMs use far less noise.
/// Stabilisers: spectral norm on every convolution, the L2 energy penalty α·(E(x⁺)² + E(x⁻)²), gradient-norm clipping.
/// </summary>
public sealed record EbmConfig : ImageFamilyConfig
{
    /// <summary>Channels of the first convolution; the next ones have 2× and 4× as many.</summary>
    public int Channels { get; init; } = 32;
    /// <summary>Spectral normalisation on every convolution (Miyato et al. 2018), as Du &amp; Mordatch do.</summary>
    public bool SpectralNorm { get; init; } = true;
    /// <summary>ε of a Langevin step: the drift is (ε/2)·∇ₓE (Du &amp; Mordatch's step λ = ε/2).</summary>
    public double LangevinStep { get; init; } = 20;
    /// <summary>σ, the standard deviation of the Gaussian noise added each Langevin step (σ² = ε is exact Langevin).</summary>
    public double LangevinNoise { get; init; } = 0.005;
    /// <summary>K, Langevin steps of the negative phase per update.</summary>
    public int LangevinSteps { get; init; } = 60;
    /// <summary>Clamp each pixel's drift (ε/2)·∂E/∂x to ±this per step (Du &amp; Mordatch clip the Langevin gradient); 0 = off.</summary>
    public double LangevinDriftClip { get; init; } = 0.03;
    /// <summary>Samples kept in the replay buffer (a buffer of the module, so checkpoints and resumed runs carry it).</summary>
    public int ReplaySize { get; init; } = 10_000;
    /// <summary>Fraction of each negative batch started from fresh uniform noise instead of the buffer.</summary>
    public double FreshFraction { get; init; } = 0.05;
    /// <summary>α of the L2 energy penalty α·(E(x⁺)² + E(x⁻)²).</summary>
    public double EnergyPenalty { get; init; } = 1.0;
    /// <summary>Std of Gaussian noise added to the data each step (smooths the data distribution; 0 = off).</summary>
    public double DataNoise { get; init; } = 0.0;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Adam β₁ (Du &amp; Mordatch use 0).</summary>
    public double Beta1 { get; init; } = 0.0;
    /// <summary>Adam β₂.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Clip the parameters' gradient norm to this; 0 = off.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Langevin steps of <c>sample</c>, inpainting and denoising.</summary>
    public int SampleSteps { get; init; } = 200;
    /// <summary>Langevin steps of <c>denoise</c>, started at the noisy image (few: long chains forget the input).</summary>
    public int DenoiseSteps { get; init; } = 20;
    /// <summary>Where <c>sample</c> starts its chains: "noise" (uniform in [-1, 1]) or "buffer" (random replay-buffer entries).</summary>
    public string SampleInit { get; init; } = "noise";

    public override void Validate()
    {
        base.Validate();
        RequireIn(Channels, "channels", 1, 1024);
        Require(LangevinStep > 0 && LangevinStep <= 1e4, "langevin_step", "in (0, 10000]", LangevinStep);
        Require(LangevinNoise >= 0 && LangevinNoise <= 10, "langevin_noise", "in [0, 10]", LangevinNoise);
        RequireIn(LangevinSteps, "langevin_steps", 1, 10_000);
        Require(LangevinDriftClip >= 0 && LangevinDriftClip <= 10, "langevin_drift_clip", "in [0, 10] (0 = off)", LangevinDriftClip);
        RequireIn(ReplaySize, "replay_size", 1, 1_000_000);
        Require(FreshFraction >= 0 && FreshFraction <= 1, "fresh_fraction", "in [0, 1]", FreshFraction);
        Require(EnergyPenalty >= 0 && EnergyPenalty <= 1e3, "energy_penalty", "in [0, 1000]", EnergyPenalty);
        Require(DataNoise >= 0 && DataNoise <= 1, "data_noise", "in [0, 1]", DataNoise);
        RequireLearningRate(LearningRate);
        RequireAdamBetas(Beta1, Beta2);
        Require(GradClip >= 0, "grad_clip", "≥ 0 (0 = off)", GradClip);
        RequireIn(SampleSteps, "sample_steps", 0, 1_000_000);
        RequireIn(DenoiseSteps, "denoise_steps", 0, 1_000_000);
        Require(SampleInit is "noise" or "buffer", "sample_init", "\"noise\" or \"buffer\"", SampleInit);
    }
}
