namespace GenSharp.Text.Chat;

/// <summary>One finished assistant reply of a <see cref="ChatSession"/>.</summary>
/// <param name="Text">The reply (white space around it trimmed), as kept in the history.</param>
/// <param name="PromptTokens">Tokens of the prompt the model saw.</param>
/// <param name="GeneratedTokens">Tokens generated (including those of the stop sequence).</param>
/// <param name="FinishReason">"stop" (the template's end of turn or a stop sequence) or "length" (max new tokens).</param>
/// <param name="DroppedMessages">Oldest messages dropped from the history before this turn to fit the context.</param>
public sealed record ChatReply(string Text, int PromptTokens, int GeneratedTokens, string FinishReason, int DroppedMessages);
