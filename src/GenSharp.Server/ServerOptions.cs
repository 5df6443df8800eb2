namespace GenSharp.Server;

/// <summary>How a <see cref="GenSharpServer"/> listens and what it serves.</summary>
public sealed record ServerOptions
{
    /// <summary>The folder whose sub-folders (GenSharp checkpoints or run folders, Hugging Face folders) are the models.</summary>
    public required string ModelsDir { get; init; }
    /// <summary>Address to bind: an IP address or <c>localhost</c>. Loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 picks a free one (see <see cref="GenSharpServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Where models run: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Most models kept loaded at once; the least recently used is unloaded beyond it.</summary>
    public int MaxLoadedModels { get; init; } = 2;
    /// <summary>Largest request body accepted, in bytes (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;
    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxTokensCap { get; init; } = 4096;
    /// <summary>Largest <c>n</c> (choices per prompt) a request may ask for.</summary>
    public int MaxChoices { get; init; } = 16;

    /// <summary>Throws a <see cref="ParameterException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelsDir)) throw new ParameterException("models", "is required: a folder whose sub-folders are models");
        if (!Directory.Exists(ModelsDir)) throw new ParameterException("models", $"'{ModelsDir}' is not a folder");
        if (Port is < 0 or > 65535) throw new ParameterException("port", $"must be in [0, 65535], got {Port}");
        if (MaxLoadedModels < 1) throw new ParameterException("max_loaded_models", $"must be ≥ 1, got {MaxLoadedModels}");
        if (MaxRequestBodyBytes < 1024) throw new ParameterException("max_request_body_bytes", $"must be ≥ 1024, got {MaxRequestBodyBytes}");
        if (MaxTokensCap < 1) throw new ParameterException("max_tokens_cap", $"must be ≥ 1, got {MaxTokensCap}");
        if (MaxChoices < 1) throw new ParameterException("max_choices", $"must be ≥ 1, got {MaxChoices}");
    }
}
