namespace GenSharp.Distributed;

/// <summary>
/// An MPI collective failed: almost always another rank of the job stopped (killed, out of memory, its machine lost).
/// The message is one line; the trainer adds where the last checkpoint is.
/// </summary>
public sealed class DistributedException(string message) : GenSharpException(message);
