namespace GenSharp.Data;

/// <summary>
/// A file that should be in IDX format (the MNIST family's container) is malformed: wrong magic
/// number, wrong number of dimensions, truncated or oversized payload, or a corrupt gzip wrapper.
/// The message names the file and the problem.
/// </summary>
public sealed class IdxFormatException : GenSharpException
{
    /// <summary>Creates the exception with a one-line message naming the file and the problem.</summary>
    public IdxFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with a one-line message and the low-level cause.</summary>
    public IdxFormatException(string message, Exception inner) : base(message, inner) { }
}
