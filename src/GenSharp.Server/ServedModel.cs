using GenSharp.Checkpoints;
using GenSharp.Sampling;
using GenSharp.Text.Chat;

namespace GenSharp.Server;

/// <summary>
/// A loaded text model with its generator and chat template. One request uses it at a time (<see cref="Gate"/>;
/// tokenizers and the KV cache are not thread-safe); continuous batching will replace the gate later.
/// </summary>
public sealed class ServedModel
{
    int _leases;
    bool _evicted, _disposed;
    readonly object _sync = new();

    internal ServedModel(string name, LoadedTextModel loaded)
    {
        Name = name;
        Loaded = loaded;
        Generator = new TextGenerator(loaded.Model, loaded.Tokenizer);
        Chat = ChatTemplates.Select(null, loaded.Path);
    }

    /// <summary>The model's name (its folder's name).</summary>
    public string Name { get; }
    /// <summary>The model, its tokenizer and where it came from.</summary>
    public LoadedTextModel Loaded { get; }
    /// <summary>The decoder over the model.</summary>
    public TextGenerator Generator { get; }
    /// <summary>The chat template chosen for the folder (its own when recognised, else a built-in).</summary>
    public ChatTemplateSelection Chat { get; }
    /// <summary>Held while a request generates with the model.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Marks the model in use, so that unloading it waits for the request to end. False once unloaded.</summary>
    internal bool TryLease()
    {
        lock (_sync)
        {
            if (_evicted) return false;
            _leases++;
            return true;
        }
    }

    internal void Release()
    {
        lock (_sync)
        {
            _leases--;
            if (_evicted && _leases == 0) DisposeNow();
        }
    }

    /// <summary>Unloads the model now, or when its last request ends.</summary>
    internal void Evict()
    {
        lock (_sync)
        {
            _evicted = true;
            if (_leases == 0) DisposeNow();
        }
    }

    void DisposeNow()
    {
        if (_disposed) return;
        _disposed = true;
        Loaded.Dispose();
    }
}
