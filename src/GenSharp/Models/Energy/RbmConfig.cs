namespace GenSharp.Models.Energy;

/// <summary>
/// Bernoulli–Bernoulli RBM on binarized images (one visible unit per pixel), trained by CD-k or
/// persistent CD with SGD + momentum and L2 weight decay on the weights (libtorch's SGD). Training
/// binarizes every batch stochastically (each pixel is 1 with probability equal to its intensity,
/// fresh draws every epoch), as the VAE and the Bernoulli PixelCNN do.
/// </summary>
public sealed record RbmConfig : RbmTrainingConfig
{
    /// <summary>Hidden units H (Salakhutdinov &amp; Murray 2008 report 500).</summary>
    public int Hidden { get; init; } = 500;

    public override void Validate()
    {
        base.Validate();
        RequireIn(Hidden, "hidden", 1, 65536);
    }
}
