namespace GenSharp.Checkpoints;

/// <summary>
/// The tensors and metadata read from one safetensors file or buffer by
/// <see cref="Safetensors.Load(string)"/> or <see cref="Safetensors.Deserialize(byte[], string)"/>.
/// </summary>
/// <remarks>
/// Every tensor is a CPU tensor that owns its own memory (it is not a view on the file or on the
/// source buffer). The tensors are detached from any TorchSharp dispose scope that was active while
/// loading, so leaving such a scope does not free them: this object owns them and
/// <see cref="Dispose"/> frees them. To keep a tensor beyond the lifetime of this object, clone it
/// (or copy it into a module with <see cref="ModuleState.Load(nn.Module, IReadOnlyDictionary{string, torch.Tensor}, string, IReadOnlyCollection{string}?)"/>) before disposing.
/// </remarks>
public sealed class SafetensorsFile : IDisposable
{
    readonly Dictionary<string, torch.Tensor> _tensors;
    readonly Dictionary<string, string> _metadata;
    bool _disposed;

    internal SafetensorsFile(string sourceName, Dictionary<string, torch.Tensor> tensors, Dictionary<string, string> metadata)
    {
        SourceName = sourceName;
        _tensors = tensors;
        _metadata = metadata;
    }

    /// <summary>The file path or name the tensors were read from, as used in error messages.</summary>
    public string SourceName { get; }

    /// <summary>The tensors by name, in the order of the file's header. Owned by this object.</summary>
    /// <exception cref="ObjectDisposedException">This object has been disposed.</exception>
    public IReadOnlyDictionary<string, torch.Tensor> Tensors
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _tensors;
        }
    }

    /// <summary>The string-to-string metadata from the header's <c>__metadata__</c> entry; empty if there was none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _metadata;

    /// <summary>Frees every tensor in <see cref="Tensors"/>. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var tensor in _tensors.Values) tensor.Dispose();
    }
}
