using GenSharp.Runtime;
using TorchSharp.Modules;

namespace GenSharp.Models.Gan;

/// <summary>
/// Conv2d whose weight is divided by its largest singular value, estimated by one step of power
/// iteration per forward pass (Miyato et al. 2018, "Spectral Normalization for GANs", Alg. 1).
/// Parameter and buffer names follow PyTorch's spectral_norm: weight_orig, weight_u, weight_v, bias.
/// </summary>
public sealed class SpectralNormConv2d : nn.Module<Tensor, Tensor>, IConvolutionWeights
{
    private readonly Parameter weight_orig;
    private readonly Parameter bias;
    private readonly Tensor weight_u;
    private readonly Tensor weight_v;
    readonly long _stride, _padding;

    public SpectralNormConv2d(long inChannels, long outChannels, long kernel, long stride, long padding)
        : base(nameof(SpectralNormConv2d))
    {
        _stride = stride;
        _padding = padding;
        using var init = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding);
        weight_orig = new Parameter(init.weight!.detach().clone());
        bias = new Parameter(init.bias!.detach().clone());
        long rows = outChannels, cols = inChannels * kernel * kernel;
        weight_u = nn.functional.normalize(torch.randn(rows), dim: 0);
        weight_v = nn.functional.normalize(torch.randn(cols), dim: 0);
        RegisterComponents();
    }

    /// <summary>The normalised weight W / σ(W); advances the power iteration when training.</summary>
    public Tensor NormalizedWeight()
    {
        var w = weight_orig.flatten(1); // (out, in·k·k)
        if (training)
        {
            using var _ = torch.no_grad();
            // v ← Wᵀu / ‖Wᵀu‖, u ← Wv / ‖Wv‖
            weight_v.copy_(nn.functional.normalize(w.t().mv(weight_u), dim: 0, eps: 1e-12));
            weight_u.copy_(nn.functional.normalize(w.mv(weight_v), dim: 0, eps: 1e-12));
        }
        // Clones: u and v are updated in place by the next forward pass, but autograd needs the
        // values this pass used (the discriminator runs several times per training step).
        var sigma = weight_u.clone().dot(w.mv(weight_v.clone())); // uᵀWv ≈ largest singular value; gradients flow through W
        return weight_orig / sigma;
    }

    IEnumerable<Tensor> IConvolutionWeights.ConvolutionWeights => new Tensor[] { weight_orig };

    /// <summary>A kernel that covers the whole map (a GAN critic's or an energy's last layer) runs as the linear layer it is.</summary>
    public override Tensor forward(Tensor x)
    {
        if (WholeMap.Covers(x, weight_orig, _padding))
        {
            using var w = NormalizedWeight();
            return WholeMap.Readout(x, w, bias);
        }
        return ConvolutionLayout.OneChannel(x, NormalizedWeight(), (input, weight) =>
            nn.functional.conv2d(input, weight, bias, strides: new[] { _stride, _stride }, padding: new[] { _padding, _padding }));
    }
}
