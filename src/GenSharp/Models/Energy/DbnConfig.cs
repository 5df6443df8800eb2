namespace GenSharp.Models.Energy;

/// <summary>
/// Deep belief net (Hinton, Osindero &amp; Teh 2006) trained greedily: RBM 1 on the binarized pixels, then
/// RBM l + 1 on binary samples h ~ p(h | ·) of RBM l's hidden units given the data propagated up. Each layer
/// trains for <see cref="LayerSteps"/> updates in turn; steps after the last layer's share keep training the
/// top RBM. Every layer uses the same CD-k / PCD settings (<see cref="RbmTrainingConfig"/>).
/// </summary>
public sealed record DbnConfig : RbmTrainingConfig
{
    /// <summary>Hidden units per layer, bottom to top (Hinton et al. 2006 use 500, 500, 2000; the default is CPU-sized).</summary>
    public int[] HiddenLayers { get; init; } = { 500, 500 };
    /// <summary>Updates per layer before training moves up to the next one.</summary>
    public int LayerSteps { get; init; } = 1000;

    /// <summary>The settings of layer <paramref name="l"/>'s RBM (visible = the layer below).</summary>
    public RbmConfig Layer(int l) => new()
    {
        ImageChannels = ImageChannels, ImageSize = ImageSize, NumClasses = NumClasses,
        Hidden = HiddenLayers[l], CdSteps = CdSteps, Persistent = Persistent, PersistentChains = PersistentChains,
        LearningRate = LearningRate, Momentum = Momentum, WeightDecay = WeightDecay, InitStd = InitStd, SampleSteps = SampleSteps,
    };

    public override void Validate()
    {
        base.Validate();
        Require(HiddenLayers is { Length: >= 1 and <= 8 } && HiddenLayers.All(h => h is >= 1 and <= 65536),
            "hidden_layers", "a list of 1 to 8 layer widths in [1, 65536], e.g. [500,500]",
            HiddenLayers is null ? "null" : $"[{string.Join(",", HiddenLayers)}]");
        Require(LayerSteps is >= 1, "layer_steps", "≥ 1", LayerSteps);
    }
}
