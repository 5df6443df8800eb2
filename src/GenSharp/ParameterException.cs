namespace GenSharp;

/// <summary>
/// A user-fixable error about one named parameter (a sampler option, an evaluation setting, a pipeline input).
/// The message reads "<c>{Parameter} {Detail}</c>"; front ends that spell the parameter differently (the CLI's
/// <c>--guidance-scale</c> for <c>guidance_scale</c>) rebuild the message from <see cref="Parameter"/> and <see cref="Detail"/>.
/// </summary>
public sealed class ParameterException : GenSharpException
{
    public ParameterException(string parameter, string detail) : base($"{parameter} {detail}")
    {
        Parameter = parameter;
        Detail = detail;
    }

    /// <summary>snake_case name of the parameter, as in the options records and the server's JSON.</summary>
    public string Parameter { get; }

    /// <summary>What is wrong and what to change, without the parameter's name.</summary>
    public string Detail { get; }
}
