using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// Masked affine coupling (Dinh et al. 2017, eq. 9): y = b⊙x + (1−b)⊙(x⊙exp(s(b⊙x)) + t(b⊙x)), with
/// log|det ∂y/∂x| = Σ (1−b)⊙s (eq. 6). The binary mask b is a spatial checkerboard or a split of the
/// channels into halves; <c>parity</c> picks which half passes unchanged, and consecutive layers
/// alternate it so every entry is transformed. s = scale·tanh(raw) with a learned per-channel scale
/// keeps the log-scales bounded early in training; the conditioner's zero-initialised last
/// convolution makes a new layer the identity.
/// </summary>
public sealed class AffineCoupling : FlowLayer
{
    /// <summary>Shape of the mask b.</summary>
    public enum MaskKind
    {
        /// <summary>b = 1 where (h + w + parity) is even, on every channel.</summary>
        Checkerboard,
        /// <summary>b = 1 on the first half of the channels (parity 0) or the second half (parity 1).</summary>
        Channel,
    }

    private readonly RealNvpResNet conditioner;
    private readonly Parameter scale;
    readonly MaskKind _kind;
    readonly int _parity;
    readonly long _channels;

    /// <param name="channels">Channels of the input (even for a channel mask).</param>
    /// <param name="kind">Checkerboard or channel-wise mask.</param>
    /// <param name="parity">0 or 1: which half of the entries conditions the other.</param>
    /// <param name="width">Conditioner width.</param>
    /// <param name="residualBlocks">Residual blocks in the conditioner.</param>
    public AffineCoupling(long channels, MaskKind kind, int parity, long width, int residualBlocks) : base(nameof(AffineCoupling))
    {
        if (kind == MaskKind.Channel && channels % 2 != 0)
            throw new GenSharpException($"a channel-wise coupling needs an even number of channels, got {channels}");
        _kind = kind;
        _parity = parity & 1;
        _channels = channels;
        conditioner = new RealNvpResNet(channels, width, residualBlocks, 2 * channels); // → [raw s, t]
        scale = new Parameter(torch.ones(1, channels, 1, 1));
        RegisterComponents();
    }

    /// <summary>b: 1 on the entries that pass unchanged, broadcastable to (B, C, H, W).</summary>
    public Tensor Mask(long height, long width, ScalarType dtype, Device device)
    {
        if (_kind == MaskKind.Checkerboard)
        {
            var rows = torch.arange(height, device: device).unsqueeze(1);           // (H, 1)
            var cols = torch.arange(width, device: device).unsqueeze(0);            // (1, W)
            return (rows + cols + _parity).remainder(2).eq(0).to(dtype).reshape(1, 1, height, width);
        }
        var first = torch.arange(_channels, device: device).lt(_channels / 2);      // (C)
        return (_parity == 0 ? first : first.logical_not()).to(dtype).reshape(1, _channels, 1, 1);
    }

    /// <summary>s and t for the masked input, both zero where b = 1: (B, C, H, W) each.</summary>
    (Tensor S, Tensor T) ScaleAndShift(Tensor masked, Tensor b)
    {
        using var out2 = conditioner.forward(masked);
        var st = out2.chunk(2, 1);
        using var free = 1 - b;
        using var tanh = torch.tanh(st[0]);
        using var scaled = scale * tanh;
        var s = scaled * free;
        var t = st[1] * free;
        foreach (var part in st) part.Dispose();
        return (s, t);
    }

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x)
    {
        using var b = Mask(x.shape[2], x.shape[3], x.dtype, x.device);
        Tensor s, t;
        using (var masked = x * b) (s, t) = ScaleAndShift(masked, b);
        using (s)
        using (t)
        using (var e = torch.exp(s))
        using (var xe = x * e)
        using (var flat = s.flatten(1))
            return (xe + t, flat.sum(1));   // y = b⊙x + (1−b)⊙(x⊙exp(s) + t), since s = t = 0 where b = 1
    }

    public override Tensor Inverse(Tensor y)
    {
        var b = Mask(y.shape[2], y.shape[3], y.dtype, y.device);
        var (s, t) = ScaleAndShift(y * b, b);   // b⊙y = b⊙x: the conditioner sees what it saw going forward
        return (y - t) * torch.exp(-s);
    }
}
