using TorchSharp.Modules;

namespace GenSharp.Models.Diffusion;

/// <summary>Layer constructors shared by the UNet's blocks.</summary>
internal static class DiffusionLayers
{
    /// <summary>
    /// GroupNorm with PyTorch's initialisation (γ = 1, β = 0). TorchSharp 0.107's GroupNorm leaves its affine
    /// parameters uninitialised (random memory, sometimes NaN), so they are set here explicitly.
    /// </summary>
    public static GroupNorm Norm(int groups, int channels)
    {
        var norm = nn.GroupNorm(groups, channels);
        using var _ = torch.no_grad();
        norm.weight!.fill_(1);
        norm.bias!.zero_();
        return norm;
    }
}
