namespace GenSharp.Sampling;

/// <summary>The result of one reverse diffusion step.</summary>
/// <param name="PrevSample">The sample at the next (less noisy) timestep, shaped like the input sample.</param>
/// <param name="PredictedX0">The scheduler's estimate of the clean sample x0 at this step (clipped when the scheduler clips).</param>
public readonly record struct SchedulerStep(Tensor PrevSample, Tensor PredictedX0);
