namespace GenSharp.Text.Chat;

/// <summary>The chat template chosen for a model and why.</summary>
/// <param name="Template">The template.</param>
/// <param name="Source">Where it came from, e.g. "template" (chosen by name) or "tokenizer_config.json chat_template".</param>
/// <param name="Notice">A one-line notice for the user when a built-in was chosen as a fallback; null otherwise.</param>
public sealed record ChatTemplateSelection(IChatTemplate Template, string Source, string? Notice)
{
    /// <summary>True when no template was named and the folder has none GenSharp recognises: a built-in was guessed.</summary>
    public bool IsFallback => Source == "fallback";
}
