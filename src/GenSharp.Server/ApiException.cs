namespace GenSharp.Server;

/// <summary>
/// An error answered in OpenAI's shape <c>{"error":{"message","type","param","code"}}</c> with an HTTP status.
/// </summary>
public sealed class ApiException : Exception
{
    public ApiException(int status, string message, string? param = null, string? code = null, string? type = null) : base(message)
    {
        Status = status;
        Param = param;
        Code = code;
        Type = type ?? (status == 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error");
    }

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }
    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; }
    /// <summary>A machine-readable code (e.g. <c>model_not_found</c>), or null.</summary>
    public string? Code { get; }
    /// <summary>OpenAI's error type (<c>invalid_request_error</c>, ...).</summary>
    public string Type { get; }

    /// <summary>A 400 about one request field.</summary>
    public static ApiException Invalid(string param, string message, string? code = null) => new(400, message, param, code);
}
