using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GenSharp.Models.Energy;

/// <summary>The stack of RBMs of a DBN, bottom first (checkpoint keys <c>layers.0.weight</c>, …), and the update count.</summary>
public sealed class DbnNetwork : nn.Module
{
    private readonly ModuleList<Rbm> layers;
    private readonly Tensor steps_done;   // int64 scalar: updates so far (decides which layer trains)

    public DbnNetwork(DbnConfig config) : base(nameof(DbnNetwork))
    {
        layers = new ModuleList<Rbm>();
        int below = config.Visible;
        foreach (var h in config.HiddenLayers)
        {
            layers.Add(new Rbm(below, h, config.Persistent ? config.PersistentChains : 0, config.InitStd));
            below = h;
        }
        steps_done = torch.zeros(Array.Empty<long>(), dtype: ScalarType.Int64);
        RegisterComponents();
    }

    /// <summary>The RBMs, bottom (on the pixels) first.</summary>
    public IReadOnlyList<Rbm> Layers => layers.ToList();
    /// <summary>Updates so far (int64 scalar).</summary>
    public Tensor StepsDone => steps_done;
}
