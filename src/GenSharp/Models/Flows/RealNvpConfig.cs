namespace GenSharp.Models.Flows;

/// <summary>
/// RealNVP (Dinh, Sohl-Dickstein &amp; Bengio 2017, "Density estimation using Real NVP", arXiv:1605.08803).
/// Multi-scale: every scale but the last runs 3 checkerboard couplings, a squeeze, 3 channel-wise
/// couplings and factors out half of the channels; the last runs 4 checkerboard couplings.
/// </summary>
public sealed record RealNvpConfig : ImageFamilyConfig
{
    /// <summary>Number of scales; image_size must be divisible by 2^(scales − 1). 28×28: 3 scales (28 → 14 → 7).</summary>
    public int Scales { get; init; } = 3;
    /// <summary>Width of every coupling layer's ResNet conditioner.</summary>
    public int CouplingChannels { get; init; } = 32;
    /// <summary>Residual blocks per conditioner.</summary>
    public int ResidualBlocks { get; init; } = 1;
    /// <summary>α of the logit preprocessing y = logit(α + (1 − 2α)·x); 0.05 as in the paper.</summary>
    public double LogitAlpha { get; init; } = 0.05;
    /// <summary>Normalisation after each coupling layer: batchnorm (the paper's), actnorm or none.</summary>
    public RealNvpNorm Norm { get; init; } = RealNvpNorm.Batchnorm;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>
    /// Gradients are rescaled to at most this global L2 norm; 0 turns clipping off. The loss is in nats per
    /// image (a sum over 784 dimensions), so ordinary gradient norms are large (≈2·10⁴ in the first 150
    /// steps of the default model on Fashion-MNIST); the default only catches spikes. A clip of 100 was
    /// active on every step there and left the model behind (4.39 vs 4.19 bits/dim after 150 steps).
    /// </summary>
    public double GradClip { get; init; } = 50_000;
    /// <summary>L2 penalty on the conditioners' convolution weights, added to the training loss (the paper used 5e-5).</summary>
    public double WeightDecay { get; init; } = 5e-5;

    public override void Validate()
    {
        base.Validate();
        RequireIn(Scales, "scales", 1, 6);
        int factor = 1 << (Scales - 1);
        Require(ImageSize % factor == 0, "image_size", $"divisible by 2^(scales − 1) = {factor} for scales = {Scales}", ImageSize);
        RequireIn(CouplingChannels, "coupling_channels", 1, 1024);
        RequireIn(ResidualBlocks, "residual_blocks", 0, 32);
        Require(LogitAlpha >= 0 && LogitAlpha < 0.5, "logit_alpha", "in [0, 0.5)", LogitAlpha);
        Require(Enum.IsDefined(Norm), "norm", "batchnorm, actnorm or none", Norm);
        RequireLearningRate(LearningRate);
        RequireGradClip(GradClip);
        Require(WeightDecay >= 0 && WeightDecay < 1, "weight_decay", "in [0, 1)", WeightDecay);
    }
}
