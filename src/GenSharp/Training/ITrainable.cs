using TorchSharp;
using static TorchSharp.torch;

namespace GenSharp.Training;

/// <summary>
/// What the <see cref="Trainer"/> needs from a model family: the module to checkpoint, its
/// optimizers, and one training step. The trainer owns the loop, IO, progress, RNG and
/// checkpoints; the family owns the math.
/// </summary>
public interface ITrainable
{
    /// <summary>Root module; its state dict is the checkpoint's <c>model.safetensors</c>.</summary>
    nn.Module Model { get; }

    /// <summary>Optimizers in a fixed order (saved and restored for resume).</summary>
    IReadOnlyList<optim.Optimizer> Optimizers { get; }

    /// <summary>
    /// One optimisation step on a batch from the family's <see cref="Data.IBatchSource"/>, already on the
    /// model's device: raw uint8 images (B,C,H,W) and int64 labels (B) for image families, int64 input
    /// tokens (B,T) and next-token targets (B,T) for text families. Runs inside a dispose scope owned by the trainer.
    /// Returns named scalar metrics; the first entry is the headline loss.
    /// </summary>
    IReadOnlyDictionary<string, double> TrainStep(Tensor images, Tensor labels);

    /// <summary>
    /// Draws <paramref name="n"/> samples as float images in [0,1], (n,C,H,W) on the CPU, or null
    /// when the family cannot sample. <paramref name="labels"/> selects classes when conditional.
    /// </summary>
    Tensor? Sample(int n, Tensor? labels);

    /// <summary>Number of classes the model is conditioned on (0 when unconditional).</summary>
    int ConditionalClasses { get; }
}
