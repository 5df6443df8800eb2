namespace GenSharp.Models.Gan;

/// <summary>DCGAN (Radford et al. 2016, arXiv:1511.06434), optionally class-conditional.</summary>
public sealed record DcganConfig : ImageFamilyConfig
{
    /// <summary>Dimensionality of the noise z.</summary>
    public int LatentDim { get; init; } = 100;
    /// <summary>Base channel width of the generator.</summary>
    public int GeneratorChannels { get; init; } = 64;
    /// <summary>Base channel width of the discriminator.</summary>
    public int DiscriminatorChannels { get; init; } = 64;
    /// <summary>Condition both networks on the class label.</summary>
    public bool Conditional { get; init; } = false;
    /// <summary>Size of the learned class embedding fed to the generator.</summary>
    public int ClassEmbedding { get; init; } = 32;
    /// <summary>Spectral normalisation on the discriminator's convolutions (Miyato et al. 2018); replaces its BatchNorm.</summary>
    public bool SpectralNorm { get; init; } = false;
    /// <summary>Adam learning rate for both networks.</summary>
    public double LearningRate { get; init; } = 2e-4;
    /// <summary>Adam β1 (0.5 as in the DCGAN paper).</summary>
    public double Beta1 { get; init; } = 0.5;
    /// <summary>Adam β2.</summary>
    public double Beta2 { get; init; } = 0.999;

    public override void Validate()
    {
        base.Validate();
        RequireIn(LatentDim, "latent_dim", 1, 4096);
        RequireIn(GeneratorChannels, "generator_channels", 1, 2048);
        RequireIn(DiscriminatorChannels, "discriminator_channels", 1, 2048);
        RequireIn(ClassEmbedding, "class_embedding", 1, 4096);
        Require(!Conditional || NumClasses >= 2, "num_classes", "≥ 2 for a conditional model", NumClasses);
        RequireLearningRate(LearningRate);
        RequireAdamBetas(Beta1, Beta2);
    }
}
