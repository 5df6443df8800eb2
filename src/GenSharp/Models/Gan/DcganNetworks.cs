namespace GenSharp.Models.Gan;

/// <summary>The generator and discriminator under one root, so the checkpoint names are generator.* and discriminator.*.</summary>
public sealed class DcganNetworks : nn.Module
{
    private readonly DcganGenerator generator;
    private readonly DcganDiscriminator discriminator;

    public DcganNetworks(DcganConfig c) : base(nameof(DcganNetworks))
    {
        generator = new DcganGenerator(c);
        discriminator = new DcganDiscriminator(c);
        RegisterComponents();
        InitWeights();
    }

    public DcganGenerator Generator => generator;
    public DcganDiscriminator Discriminator => discriminator;

    /// <summary>DCGAN §4: conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), shifts 0.</summary>
    void InitWeights()
    {
        using var _ = torch.no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (name.Contains("label_", StringComparison.Ordinal)) continue;   // embeddings keep their N(0, 1) init
            if (name.EndsWith("bias", StringComparison.Ordinal)) p.zero_();
            else if (p.dim() == 1) nn.init.normal_(p, 1.0, 0.02);              // BatchNorm scale γ
            else nn.init.normal_(p, 0.0, 0.02);                               // conv / transposed-conv weights
        }
    }
}
