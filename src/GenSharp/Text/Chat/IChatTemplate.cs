namespace GenSharp.Text.Chat;

/// <summary>
/// Turns a conversation into the single text a language model continues, and says where the model's
/// reply ends. Special tokens (e.g. <c>&lt;|im_end|&gt;</c>) appear as their text; a tokenizer that
/// knows them maps each to its single id.
/// </summary>
public interface IChatTemplate
{
    /// <summary>Short name: <c>chatml</c>, <c>llama3</c> or <c>plain</c>.</summary>
    string Name { get; }

    /// <summary>Texts that end the assistant's reply (the end-of-turn marker and the start of the next turn).</summary>
    IReadOnlyList<string> StopSequences { get; }

    /// <summary>Text put once before the first message (Llama-3's <c>&lt;|begin_of_text|&gt;</c>), or empty.</summary>
    string BeginOfText { get; }

    /// <summary>
    /// The conversation as text; with <paramref name="addGenerationPrompt"/>, followed by the opening of
    /// an assistant turn so the model's continuation is the reply. Without <paramref name="beginOfText"/>
    /// the <see cref="BeginOfText"/> prefix is left out, for tokenizers whose caller puts the
    /// start-of-sequence token first anyway (it would otherwise appear twice).
    /// </summary>
    string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, bool beginOfText = true);
}
