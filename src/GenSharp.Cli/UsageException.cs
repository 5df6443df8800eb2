namespace GenSharp.Cli;

/// <summary>The command line itself is wrong (unknown command or option, a missing or malformed value): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);
