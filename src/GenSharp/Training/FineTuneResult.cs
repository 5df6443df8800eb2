namespace GenSharp.Training;

/// <summary>What a LoRA fine-tune did.</summary>
/// <param name="Train">The trainer's result (steps, time, last metrics).</param>
/// <param name="TrainableParameters">Elements of the adapters' A and B.</param>
/// <param name="BaseParameters">Elements of the frozen base.</param>
/// <param name="HeldOutLossBefore">Held-out loss of the base before training (NaN on resume).</param>
/// <param name="HeldOutLossAfter">Held-out loss with the trained adapter.</param>
/// <param name="AdapterDir">The PEFT-format adapter folder.</param>
/// <param name="MergedDir">The merged model folder, or null.</param>
public sealed record FineTuneResult(TrainResult Train, long TrainableParameters, long BaseParameters, double HeldOutLossBefore,
    double HeldOutLossAfter, string AdapterDir, string? MergedDir);
