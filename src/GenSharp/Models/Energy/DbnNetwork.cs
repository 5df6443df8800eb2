using TorchSharp.Modules;

namespace GenSharp.Models.Energy;

/// <summary>The stack of RBMs of a DBN, bottom first (checkpoint keys <c>layers.0.weight</c>, …).</summary>
public sealed class DbnNetwork : nn.Module
{
    private readonly ModuleList<Rbm> layers;

    public DbnNetwork(DbnConfig config) : base(nameof(DbnNetwork))
    {
        layers = new ModuleList<Rbm>();
        int below = config.Visible;
        foreach (var h in config.HiddenLayers)
        {
            layers.Add(new Rbm(below, h, config.Persistent ? config.PersistentChains : 0, config.InitStd));
            below = h;
        }
        RegisterComponents();
    }

    /// <summary>The RBMs, bottom (on the pixels) first.</summary>
    public IReadOnlyList<Rbm> Layers => layers.ToList();
}
