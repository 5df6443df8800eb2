namespace GenSharp.Training;

/// <summary>How a training run ended.</summary>
/// <param name="Step">Steps completed (the checkpoint's step).</param>
/// <param name="TotalSteps">Steps the run was asked for.</param>
/// <param name="Interrupted">True when stopped by cancellation (Ctrl-C) before the end.</param>
/// <param name="CheckpointPath">The checkpoint folder written last.</param>
/// <param name="LastMetrics">Mean metrics over the last logging window.</param>
/// <param name="Seconds">Wall time of the steps run in this call.</param>
/// <param name="ImagesPerSecond">Training throughput in this call.</param>
/// <param name="Losses">Headline loss of every step run in this call, in order.</param>
public sealed record TrainResult(
    long Step, long TotalSteps, bool Interrupted, string CheckpointPath,
    IReadOnlyDictionary<string, double> LastMetrics, double Seconds, double ImagesPerSecond,
    IReadOnlyList<double> Losses);
