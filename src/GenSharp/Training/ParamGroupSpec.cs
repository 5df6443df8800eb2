using TorchSharp.Modules;

namespace GenSharp.Training;

/// <summary>
/// Parameters that share optimiser settings inside one <see cref="OptimizerSpec"/>, e.g. GPT's matrices (decayed) apart
/// from its biases and LayerNorm gains (not decayed).
/// </summary>
/// <param name="Parameters">The parameters, in a fixed order (optimizer state is saved in this order).</param>
/// <param name="WeightDecay">This group's weight decay; null takes the spec's <see cref="OptimizerSpec.WeightDecay"/>.</param>
public sealed record ParamGroupSpec(IReadOnlyList<Parameter> Parameters, double? WeightDecay = null);
