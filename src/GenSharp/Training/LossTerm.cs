namespace GenSharp.Training;

/// <summary>
/// One loss a family asks the trainer to minimise now, with the optimizer (by index into
/// <see cref="ITrainable.OptimizerSpecs"/>) that owns the parameters it should move.
/// </summary>
/// <param name="Optimizer">Index of the optimizer to step.</param>
/// <param name="Loss">Scalar loss tensor with a graph to back-propagate through.</param>
public sealed record LossTerm(int Optimizer, Tensor Loss)
{
    /// <summary>
    /// Called only when the loss or its gradient norm is not finite: extra words for the error message (which layer went
    /// first, which setting to change). Null adds nothing.
    /// </summary>
    public Func<string>? Diagnose { get; init; }
}
