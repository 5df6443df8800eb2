namespace GenSharp.Models.Vae;

/// <summary>Convolutional VAE with a Gaussian latent and a Bernoulli decoder on binarized pixels.</summary>
public sealed record VaeConfig : ImageFamilyConfig
{
    /// <summary>Dimensionality of the Gaussian latent z.</summary>
    public int LatentDim { get; init; } = 16;
    /// <summary>Channels of the first conv layer (the second has twice as many).</summary>
    public int Channels { get; init; } = 32;
    /// <summary>Width of the fully connected layer between conv stack and latent.</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Weight on the KL term (β-VAE); 1 gives the ELBO. Reported NLL always uses β = 1.</summary>
    public double Beta { get; init; } = 1.0;
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>
    /// Denoising training: when &gt; 0 the encoder sees the grey-level image plus Gaussian noise of
    /// σ ~ U(0, input_noise) and the decoder must reconstruct the clean image. 0 = ordinary VAE.
    /// </summary>
    public double InputNoise { get; init; } = 0;

    public override void Validate()
    {
        base.Validate();
        RequireIn(LatentDim, "latent_dim", 1, 4096);
        RequireIn(Channels, "channels", 1, 1024);
        RequireIn(Hidden, "hidden", 1, 65536);
        Require(Beta >= 0 && double.IsFinite(Beta), "beta", "a finite number ≥ 0", Beta);
        RequireLearningRate(LearningRate);
        Require(InputNoise >= 0 && InputNoise <= 2, "input_noise", "in [0, 2]", InputNoise);
    }
}
