using TorchSharp.Modules;

namespace GenSharp.Models.Flows;

/// <summary>
/// One scale of RealNVP's multi-scale architecture (Dinh et al. 2017, §3.6) as a single flow layer:
/// the composition of its layers, log-determinants added. A middle scale on (C, H, W) runs
/// 3 checkerboard couplings → squeeze → 3 channel-wise couplings and returns (4C, H/2, W/2), whose
/// first 2C channels the caller factors out; the last scale runs 4 checkerboard couplings. Each coupling
/// is followed by the configured normalisation layer.
/// </summary>
public sealed class RealNvpScale : FlowLayer
{
    private readonly ModuleList<FlowLayer> layers;

    /// <param name="channels">Input channels C.</param>
    /// <param name="final">The last scale (4 checkerboard couplings, no squeeze).</param>
    /// <param name="config">Widths, depth and normalisation.</param>
    public RealNvpScale(long channels, bool final, RealNvpConfig config) : base(nameof(RealNvpScale))
    {
        var list = new List<FlowLayer>();
        void Coupling(long c, AffineCoupling.MaskKind kind, int parity)
        {
            list.Add(new AffineCoupling(c, kind, parity, config.CouplingChannels, config.ResidualBlocks));
            switch (config.Norm)
            {
                case RealNvpNorm.Batchnorm: list.Add(new BatchNormFlow(c)); break;
                case RealNvpNorm.Actnorm: list.Add(new RealNvpActNorm(c)); break;
            }
        }
        if (final)
        {
            for (int i = 0; i < 4; i++) Coupling(channels, AffineCoupling.MaskKind.Checkerboard, i % 2);
        }
        else
        {
            for (int i = 0; i < 3; i++) Coupling(channels, AffineCoupling.MaskKind.Checkerboard, i % 2);
            list.Add(new Squeeze());                                                                  // (4C, H/2, W/2)
            for (int i = 0; i < 3; i++) Coupling(4 * channels, AffineCoupling.MaskKind.Channel, i % 2);
        }
        layers = nn.ModuleList(list.ToArray());
        RegisterComponents();
    }

    /// <summary>The layers in forward order.</summary>
    public IReadOnlyList<FlowLayer> Layers => layers.ToList();

    public override (Tensor Y, Tensor LogDet) Forward(Tensor x) => Forward(x, null);

    /// <summary>Forward, calling <paramref name="inspect"/>(index, layer, output, log-det) after every layer.</summary>
    public (Tensor Y, Tensor LogDet) Forward(Tensor x, Action<int, FlowLayer, Tensor, Tensor>? inspect)
    {
        var h = x;
        Tensor logDet = torch.zeros(x.shape[0], dtype: x.dtype, device: x.device);
        for (int i = 0; i < layers.Count; i++)
        {
            var (y, ld) = layers[i].Forward(h);
            inspect?.Invoke(i, layers[i], y, ld);
            h = y;
            logDet = logDet + ld;
        }
        return (h, logDet);
    }

    public override Tensor Inverse(Tensor y)
    {
        var h = y;
        for (int i = layers.Count - 1; i >= 0; i--) h = layers[i].Inverse(h);
        return h;
    }
}
