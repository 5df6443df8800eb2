namespace GenSharp.Training;

/// <summary>What the trainer does when a loss (or, with clipping, a gradient norm) is NaN or infinite.</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop with a <see cref="TrainingDivergedException"/> naming the step and the last good checkpoint; nothing is written.</summary>
    Stop,
    /// <summary>
    /// Do not apply the step, count it in the metrics as <c>skipped_steps</c> and go on; stop after
    /// <see cref="TrainOptions.MaxConsecutiveSkips"/> skipped steps in a row.
    /// </summary>
    Skip,
}
