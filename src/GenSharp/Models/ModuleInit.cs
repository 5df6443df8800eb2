namespace GenSharp.Models;

/// <summary>Initialisations several families use the same way.</summary>
internal static class ModuleInit
{
    /// <summary>
    /// <paramref name="layer"/> with every parameter (weight and bias) set to zero, so the branch it ends starts as
    /// nothing: an identity coupling or prior (Glow, Kingma &amp; Dhariwal 2018, §3.3; RealNVP) or a zero residual
    /// output (the diffusion denoisers). Built first, so it draws its default initialisation from the RNG like any layer.
    /// </summary>
    public static T Zeroed<T>(T layer) where T : nn.Module
    {
        using var _ = torch.no_grad();
        foreach (var p in layer.parameters()) p.zero_();
        return layer;
    }
}
