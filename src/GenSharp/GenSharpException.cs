namespace GenSharp;

/// <summary>
/// An error the user can fix: bad input, a malformed file, an impossible setting.
/// The message is one line that says what to change; front ends print it without a stack trace.
/// </summary>
public class GenSharpException : Exception
{
    public GenSharpException(string message) : base(message) { }
    public GenSharpException(string message, Exception inner) : base(message, inner) { }
}
