namespace GenSharp.Sampling;

/// <summary>One generated sequence.</summary>
/// <param name="Text">The generated text (without the prompt and without the stop sequence).</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="GeneratedTokens">Tokens generated (including those of a stop sequence).</param>
/// <param name="FinishReason">"stop" (a stop sequence or an end-of-sequence token appeared) or "length" (max new tokens reached).</param>
public sealed record GenerationResult(string Text, int PromptTokens, int GeneratedTokens, string FinishReason);
