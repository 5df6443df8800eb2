namespace GenSharp.Models;

/// <summary>
/// A built model of some family, fresh or loaded from a checkpoint: its family, config, device and root module. What
/// it can do beyond that it says with capability interfaces (<see cref="Training.ITrainable"/>, <see cref="IImageSampler"/>,
/// <see cref="ILikelihoodModel"/>, ...); <see cref="FamilyModel{TConfig, TNet}"/> implements the common part.
/// </summary>
public interface IGenerativeModel : IDisposable
{
    /// <summary>Registry name of its family, e.g. "vae".</summary>
    string Family { get; }

    /// <summary>The validated config it was built from.</summary>
    FamilyConfig Config { get; }

    /// <summary>Device the model lives on.</summary>
    Device Device { get; }

    /// <summary>Root module; its state dict is the checkpoint's <c>model.safetensors</c>.</summary>
    nn.Module Model { get; }

    /// <summary>
    /// Tensor names that checkpoints of earlier releases hold but this model no longer has (such as the
    /// <c>steps_done</c> step counters, now in the trainer state); loading skips them. Empty for most families.
    /// </summary>
    IReadOnlyCollection<string> ObsoleteTensorNames => Array.Empty<string>();
}
