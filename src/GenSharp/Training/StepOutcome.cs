namespace GenSharp.Training;

/// <summary>The result of one training step run by a <see cref="StepRunner"/>.</summary>
/// <param name="Metrics">The step's metrics in logging order (the family's, then <c>lr</c> and <c>grad_norm</c> of the
/// optimizers stepped); empty when the step was not applied.</param>
/// <param name="Problem">Null when the step went through; otherwise what was not finite, at which step, and the
/// family's diagnosis.</param>
/// <param name="Applied">False when a non-finite loss or gradient norm stopped the step before that optimizer moved
/// (optimizers stepped earlier in the same step, such as a GAN's discriminator, stay stepped); true otherwise, also
/// when only a metric read after the update was not finite.</param>
public sealed record StepOutcome(IReadOnlyDictionary<string, double> Metrics, string? Problem, bool Applied)
{
    /// <summary>True when the step went through and every metric is finite.</summary>
    public bool Succeeded => Problem is null;
}
