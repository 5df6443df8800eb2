namespace GenSharp.Checkpoints;

/// <summary>
/// A file (or byte buffer) that claims to be in the safetensors format but breaks the format's rules.
/// The message names the file and the problem.
/// </summary>
public sealed class SafetensorsFormatException : GenSharpException
{
    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public SafetensorsFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the error that revealed the problem.</summary>
    public SafetensorsFormatException(string message, Exception inner) : base(message, inner) { }
}
