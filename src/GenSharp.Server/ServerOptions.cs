namespace GenSharp.Server;

/// <summary>How a <see cref="GenSharpServer"/> listens and what it serves.</summary>
public sealed record ServerOptions
{
    /// <summary>The folder whose sub-folders (GenSharp checkpoints or run folders, Hugging Face folders) are the models.</summary>
    public required string ModelsDir { get; init; }
    /// <summary>
    /// Where <c>/v1/rag</c> finds its indexes: null = the <c>NAME.rag.sqlite</c> files of <see cref="ModelsDir"/>; an Npgsql
    /// connection string = the indexes of that PostgreSQL + pgvector database (as <c>gensharp rag ingest --store</c> made them).
    /// </summary>
    public string? RagStore { get; init; }
    /// <summary>Address to bind: an IP address or <c>localhost</c>. Loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 picks a free one (see <see cref="GenSharpServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Where models run: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Most models kept loaded at once; the least recently used is unloaded beyond it.</summary>
    public int MaxLoadedModels { get; init; } = 2;
    /// <summary>
    /// Most bytes the loaded models may take (<see cref="ModelFootprint"/>: weights, plus a KV cache allowance for text
    /// models); the least recently used are unloaded beyond it, and a model larger than all of it is refused (507).
    /// Null = <see cref="DefaultMemoryBudget"/>.
    /// </summary>
    public long? MemoryBudgetBytes { get; init; }
    /// <summary>
    /// How long stopping waits for running requests (streams included) to finish while new ones get 503; those still
    /// running after it are cut off.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Largest request body accepted, in bytes (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; init; } = 1 << 20;
    /// <summary>Largest <c>max_tokens</c> a request may ask for.</summary>
    public int MaxTokensCap { get; init; } = 4096;
    /// <summary>Largest <c>n</c> (choices per prompt) a request may ask for.</summary>
    public int MaxChoices { get; init; } = 16;

    /// <summary>Largest n × max_tokens (× prompts) one text request may ask for (400 beyond).</summary>
    public long MaxTotalTokens { get; init; } = 32768;
    /// <summary>Largest <c>n</c> (images) an image request may ask for.</summary>
    public int MaxImages { get; init; } = 16;
    /// <summary>A file of API keys, one a line (blank lines and lines starting with # skipped); null = no keys needed.</summary>
    public string? ApiKeyFile { get; init; }
    /// <summary>Requests under /v1 running at once (text requests of one model share its batch); more wait in a queue.</summary>
    public int MaxConcurrentRequests { get; init; } = 64;
    /// <summary>Sequences a text model decodes at once in its continuous batch (n choices count one each); more wait for a row.</summary>
    public int MaxBatchRows { get; init; } = 16;
    /// <summary>Requests that may wait for a slot; beyond it a 429 with Retry-After.</summary>
    public int MaxQueuedRequests { get; init; } = 32;
    /// <summary>Requests per minute under /v1 for each API key (each client address without keys); 0 = no limit.</summary>
    public int RateLimitPerMinute { get; init; }
    /// <summary>An origin allowed to call the server from a browser on another origin (CORS); null = CORS off.</summary>
    public string? CorsOrigin { get; init; }
    /// <summary>Log prompts and messages (off: logs never contain what users send).</summary>
    public bool LogPrompts { get; init; }
    /// <summary>Mark every generated image invisibly (pixel watermark; Tree-Ring for deterministic DDIM diffusion).</summary>
    public bool Watermark { get; init; } = true;
    /// <summary>The watermark key file; null = watermark.key in the user's config folder (created on first use).</summary>
    public string? WatermarkKeyFile { get; init; }

    /// <summary>
    /// Half the memory available to the process (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's RAM, or
    /// the container's limit when lower), leaving the rest to request buffers, sampling activations and the runtime.
    /// </summary>
    public static long DefaultMemoryBudget => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary><see cref="MemoryBudgetBytes"/>, or the default when not set.</summary>
    public long EffectiveMemoryBudget => MemoryBudgetBytes ?? DefaultMemoryBudget;

    /// <summary>
    /// Reads a size such as <c>2GB</c>, <c>512MB</c>, <c>1.5G</c>, <c>800KiB</c> or <c>1048576</c> (bytes): binary units,
    /// 1 KB = 1024 B. A <see cref="ParameterException"/> for <paramref name="parameter"/> otherwise.
    /// </summary>
    public static long ParseBytes(string parameter, string text)
    {
        var t = text.Trim();
        int end = t.Length;
        while (end > 0 && char.IsLetter(t[end - 1])) end--;
        long unit = t[end..].ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            _ => 0,
        };
        if (unit == 0 || !double.TryParse(t[..end].Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var x)
            || !double.IsFinite(x) || x <= 0 || x * unit >= long.MaxValue)
            throw new ParameterException(parameter, $"must be a positive size such as 2GB, 512MB or 1.5GB, got '{text}'");
        return Math.Max(1, (long)(x * unit));
    }

    /// <summary>Throws a <see cref="ParameterException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelsDir)) throw new ParameterException("models", "is required: a folder whose sub-folders are models");
        if (!Directory.Exists(ModelsDir)) throw new ParameterException("models", $"'{ModelsDir}' is not a folder");
        if (Port is < 0 or > 65535) throw new ParameterException("port", $"must be in [0, 65535], got {Port}");
        if (MaxLoadedModels < 1) throw new ParameterException("max_loaded_models", $"must be ≥ 1, got {MaxLoadedModels}");
        if (MemoryBudgetBytes is < 1) throw new ParameterException("memory_budget", $"must be > 0 bytes, got {MemoryBudgetBytes}");
        if (DrainTimeout < TimeSpan.Zero) throw new ParameterException("drain_seconds", $"must be ≥ 0, got {DrainTimeout.TotalSeconds}");
        if (MaxRequestBodyBytes < 1024) throw new ParameterException("max_request_body_bytes", $"must be ≥ 1024, got {MaxRequestBodyBytes}");
        if (MaxTokensCap < 1) throw new ParameterException("max_tokens_cap", $"must be ≥ 1, got {MaxTokensCap}");
        if (MaxChoices < 1) throw new ParameterException("max_choices", $"must be ≥ 1, got {MaxChoices}");
        if (MaxTotalTokens < 1) throw new ParameterException("max_total_tokens", $"must be ≥ 1, got {MaxTotalTokens}");
        if (MaxImages < 1) throw new ParameterException("max_images", $"must be ≥ 1, got {MaxImages}");
        if (ApiKeyFile is not null && !File.Exists(ApiKeyFile)) throw new ParameterException("api_key_file", $"'{ApiKeyFile}' is not a file");
        if (MaxConcurrentRequests < 1) throw new ParameterException("max_concurrent", $"must be ≥ 1, got {MaxConcurrentRequests}");
        if (MaxBatchRows < 1 || MaxBatchRows > 256) throw new ParameterException("max_batch", $"must be in [1, 256], got {MaxBatchRows}");
        if (MaxQueuedRequests < 0) throw new ParameterException("max_queue", $"must be ≥ 0, got {MaxQueuedRequests}");
        if (RateLimitPerMinute < 0) throw new ParameterException("rate_limit", $"must be ≥ 0 (0 = no limit), got {RateLimitPerMinute}");
        if (CorsOrigin is not null && !(Uri.TryCreate(CorsOrigin, UriKind.Absolute, out var o) && o.Scheme is "http" or "https" && o.AbsolutePath == "/"))
            throw new ParameterException("cors", $"must be an origin such as https://example.com, got '{CorsOrigin}'");
    }
}
