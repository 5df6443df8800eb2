namespace GenSharp.Text.Chat;

/// <summary>Who wrote a chat message.</summary>
public enum ChatRole
{
    /// <summary>Instructions for the assistant (the system prompt).</summary>
    System,
    /// <summary>The person talking to the model.</summary>
    User,
    /// <summary>The model's replies.</summary>
    Assistant,
}
