using System.Text;

namespace GenSharp.Text.Chat;

/// <summary>
/// A chat template made of fixed text around each message: an optional prefix once at the start, then
/// per message <c>header(role) + content + footer</c>, then the generation prompt. This covers ChatML,
/// Llama-3 and the plain "User: …" format; the built-ins are in <see cref="ChatTemplates"/>.
/// </summary>
public sealed class ChatTemplate : IChatTemplate
{
    readonly string _prefix, _footer, _generationPrompt;
    readonly Func<ChatRole, string> _header;
    readonly bool _trim;

    /// <param name="name">Short name.</param>
    /// <param name="prefix">Text before the first message (e.g. a begin-of-text token).</param>
    /// <param name="header">Text opening a message of a role.</param>
    /// <param name="footer">Text closing every message.</param>
    /// <param name="generationPrompt">Text opening the assistant's reply.</param>
    /// <param name="stopSequences">Texts that end the reply.</param>
    /// <param name="trimContent">Strip white space around message contents (as Llama-3's template does).</param>
    public ChatTemplate(string name, string prefix, Func<ChatRole, string> header, string footer, string generationPrompt,
        IReadOnlyList<string> stopSequences, bool trimContent)
    {
        if (stopSequences.Count == 0 || stopSequences.Any(string.IsNullOrEmpty))
            throw new GenSharpException($"chat template {name}: give at least one non-empty stop sequence");
        Name = name;
        _prefix = prefix;
        _header = header;
        _footer = footer;
        _generationPrompt = generationPrompt;
        StopSequences = stopSequences.ToArray();
        _trim = trimContent;
    }

    public string Name { get; }
    public IReadOnlyList<string> StopSequences { get; }

    public string BeginOfText => _prefix;

    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, bool beginOfText = true)
    {
        var sb = new StringBuilder(beginOfText ? _prefix : "");
        foreach (var m in messages)
            sb.Append(_header(m.Role)).Append(_trim ? m.Content.Trim() : m.Content).Append(_footer);
        if (addGenerationPrompt) sb.Append(_generationPrompt);
        return sb.ToString();
    }

    public override string ToString() => Name;
}
