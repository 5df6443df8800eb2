namespace GenSharp.Text.Chat;

/// <summary>One message of a conversation.</summary>
/// <param name="Role">Who wrote it.</param>
/// <param name="Content">Its text.</param>
public sealed record ChatMessage(ChatRole Role, string Content)
{
    /// <summary>A system prompt.</summary>
    public static ChatMessage System(string content) => new(ChatRole.System, content);
    /// <summary>A user message.</summary>
    public static ChatMessage User(string content) => new(ChatRole.User, content);
    /// <summary>An assistant reply.</summary>
    public static ChatMessage Assistant(string content) => new(ChatRole.Assistant, content);
}
