using GenSharp.Runtime;
using GenSharp.Training;

namespace GenSharp.Models;

/// <summary>
/// What every family's model holds alike: the family name, the typed config, the network on its device (the checkpoint
/// root) and the defaults of <see cref="ITrainable"/> (one <c>loss</c> metric, no obsolete tensors, unconditional). A
/// family adds its optimizers, its training step and the capability interfaces it supports.
/// </summary>
public abstract class FamilyModel<TConfig, TNet> : IGenerativeModel, ITrainable
    where TConfig : FamilyConfig
    where TNet : nn.Module
{
    /// <summary>The validated config.</summary>
    protected readonly TConfig _config;
    /// <summary>The network, moved to <see cref="Device"/>.</summary>
    protected readonly TNet _net;

    /// <summary>
    /// Moves <paramref name="network"/> (built from <paramref name="config"/>) to <paramref name="device"/> and gives its
    /// convolution weights the layout this process runs them in (<see cref="ConvolutionLayout"/>), unless the family
    /// runs its convolutions natively (<see cref="NativeConvolutions"/>).
    /// </summary>
    protected FamilyModel(string family, TConfig config, TNet network, Device device)
    {
        Family = family;
        _config = config;
        Device = device;
        _net = network;
        _net.to(device);
        if (!NativeConvolutions) ConvolutionLayout.Prepare(_net, BlockedConvolutions);
    }

    public string Family { get; }
    public FamilyConfig Config => _config;
    public Device Device { get; }
    public nn.Module Model => _net;
    /// <summary>The network.</summary>
    public TNet Network => _net;
    public abstract IReadOnlyList<OptimizerSpec> OptimizerSpecs { get; }
    public abstract IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx);
    public virtual IReadOnlyCollection<string> LossMetrics => ITrainable.DefaultLossMetrics;
    public virtual IReadOnlyCollection<string> ObsoleteTensorNames => Array.Empty<string>();
    /// <summary>Number of classes the model is conditioned on (0 when unconditional).</summary>
    public virtual int ConditionalClasses => 0;
    /// <summary>See <see cref="ITrainable.NativeConvolutions"/>; read in the constructor, so an override must be a constant.</summary>
    public virtual bool NativeConvolutions => false;
    /// <summary>
    /// Whether the network's on-block convolutions keep libtorch's default layout (oneDNN's blocked path) instead of
    /// channels-last weights (<see cref="ConvolutionLayout.Prepare{T}"/>); read in the constructor, so an override must
    /// be a constant.
    /// </summary>
    protected virtual bool BlockedConvolutions => false;
    public virtual void Dispose() => _net.Dispose();
}
