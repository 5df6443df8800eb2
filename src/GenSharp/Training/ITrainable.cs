namespace GenSharp.Training;

/// <summary>
/// What the <see cref="Trainer"/> needs from a model family: the module to checkpoint, the optimizers it wants (as
/// specs; the trainer builds and owns them) and the losses of one training step. The trainer owns the loop,
/// zero-grad / backward / clipping / optimizer step / learning-rate schedule, the NaN policy, EMA, IO, progress, RNG
/// and checkpoints; the family owns the math.
/// </summary>
public interface ITrainable
{
    /// <summary>Root module; its state dict is the checkpoint's <c>model.safetensors</c>.</summary>
    nn.Module Model { get; }

    /// <summary>
    /// The optimizers to build, in a fixed order: <see cref="LossTerm.Optimizer"/> indexes this list, and optimizer
    /// state is saved and restored in this order for resume.
    /// </summary>
    IReadOnlyList<OptimizerSpec> OptimizerSpecs { get; }

    /// <summary>
    /// One training step on a batch from the family's <see cref="Data.IBatchSource"/>, already on the model's device:
    /// raw uint8 images (B,C,H,W) and int64 labels (B) for image families, int64 input tokens (B,T) and next-token
    /// targets (B,T) for text families. Runs inside a dispose scope owned by the trainer.
    /// <para>
    /// Written as an iterator: each <c>yield return</c> hands the trainer one loss for one optimizer; the trainer checks
    /// it is finite, zero-grads, back-propagates, clips, sets the scheduled rate and steps that optimizer before the
    /// iterator resumes. So code after a <c>yield</c> sees the updated weights (a GAN's generator loss sees the
    /// discriminator just stepped). Metrics go to <paramref name="ctx"/>; the first one logged is the headline loss.
    /// A family whose update is not "minimise a loss" (none today) would do its own update here under
    /// <c>torch.no_grad()</c>, yield nothing and log its metrics; the trainer then only checks the metrics.
    /// </para>
    /// </summary>
    IEnumerable<LossTerm> TrainStep(Tensor inputs, Tensor targets, StepContext ctx);

    /// <summary>
    /// Names of the metrics that are losses (plotted in <c>loss.png</c>; the others, such as D(x), accuracy, lr or
    /// grad_norm, go to <c>metrics.png</c>). A validation metric <c>val_NAME</c> is a loss when NAME is.
    /// </summary>
    IReadOnlyCollection<string> LossMetrics => DefaultLossMetrics;

    /// <summary>Just <c>loss</c>.</summary>
    static readonly IReadOnlyCollection<string> DefaultLossMetrics = new[] { "loss" };

    /// <summary>
    /// Tensor names that checkpoints of earlier releases hold but this model no longer has (such as the
    /// <c>steps_done</c> step counters, now in the trainer state); loading skips them. Empty for most families.
    /// </summary>
    IReadOnlyCollection<string> ObsoleteTensorNames => Array.Empty<string>();

    /// <summary>
    /// Whether this model's convolutions run faster through libtorch's native kernels than through oneDNN, whatever the
    /// process uses for everyone else (WaveNet's dilated one-dimensional convolutions). The trainer runs its steps, and
    /// the model its own passes, inside <see cref="Runtime.TorchRuntime.NativeConvolutions"/>; its weights keep libtorch's
    /// default layout.
    /// </summary>
    bool NativeConvolutions => false;
}
