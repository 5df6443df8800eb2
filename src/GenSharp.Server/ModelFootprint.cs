namespace GenSharp.Server;

/// <summary>
/// What a loaded model is counted as against the server's memory budget: its weights (parameter and buffer bytes of its
/// modules) and, for a text model, an allowance for the KV cache of its continuous batch (every row of it) of up
/// to <see cref="ModelFootprint.KvCacheTokens"/> tokens (the context when shorter).
/// </summary>
/// <param name="WeightBytes">Parameters and buffers of the model's modules, each tensor once.</param>
/// <param name="KvCacheBytes">The KV cache allowance; 0 for image models.</param>
public sealed record ModelFootprint(long WeightBytes, long KvCacheBytes)
{
    /// <summary>Most tokens per sequence the allowance counts (a 32k-context model rarely holds a full context per row).</summary>
    public const int KvCacheTokens = 4096;

    /// <summary>Weights plus the KV cache allowance.</summary>
    public long TotalBytes => WeightBytes + KvCacheBytes;

    /// <summary>
    /// The allowance for a model caching <paramref name="bytesPerToken"/> per token with a context of <paramref name="context"/>
    /// tokens and a batch of <paramref name="rows"/> sequences (the slot cache gives every row the longest row's length).
    /// </summary>
    public static long KvCacheAllowance(long bytesPerToken, int context, int rows) => bytesPerToken * Math.Min(context, KvCacheTokens) * rows;

    /// <summary>Bytes of every distinct parameter and buffer of <paramref name="module"/> (a tied weight counts once).</summary>
    public static long ModuleBytes(TorchSharp.torch.nn.Module module) =>
        module.parameters().Concat(module.buffers()).DistinctBy(t => t.Handle).Sum(t => t.numel() * t.element_size());

    /// <summary>A size for people: 512 B, 12.3 KB, 1.50 GB (binary units: 1 KB = 1024 B).</summary>
    public static string Describe(long bytes)
    {
        string[] units = { "B", "KB", "MB", "GB", "TB" };
        double x = bytes;
        int u = 0;
        while (x >= 1024 && u < units.Length - 1) { x /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : x.ToString(x >= 100 ? "F0" : x >= 10 ? "F1" : "F2", System.Globalization.CultureInfo.InvariantCulture) + " " + units[u];
    }
}
