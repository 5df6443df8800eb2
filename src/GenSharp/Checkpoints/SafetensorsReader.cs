namespace GenSharp.Checkpoints;

/// <summary>
/// An open safetensors file whose header has been read and checked, and whose tensors are read one at a time on demand,
/// so loading a model needs memory for the model plus one tensor instead of the model plus the whole file.
/// </summary>
/// <remarks>
/// <see cref="Safetensors.Load"/> reads every tensor at once; use this reader when the tensors go straight into a
/// model's parameters (<see cref="ReadInto"/>, <see cref="ModuleState.Load(nn.Module, SafetensorsReader, IReadOnlyCollection{string}?, IReadOnlyCollection{string}?)"/>).
/// Not thread-safe: one reader moves one file position.
/// </remarks>
public sealed class SafetensorsReader : IDisposable
{
    readonly FileStream _stream;
    readonly long _dataStart;
    readonly Dictionary<string, Safetensors.Entry> _entries;

    SafetensorsReader(string path, FileStream stream, long dataStart, Safetensors.ParsedHeader header)
    {
        Path = path;
        _stream = stream;
        _dataStart = dataStart;
        _entries = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        Names = header.Entries.Select(e => e.Name).ToList();
        Metadata = header.Metadata;
    }

    /// <summary>The file's path, as used in error messages.</summary>
    public string Path { get; }

    /// <summary>The tensors' names in the order of the file's header.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>The string-to-string metadata from the header's <c>__metadata__</c> entry; empty if there was none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens <paramref name="path"/> and checks its header (names, dtypes, shapes, offsets tiling the data).</summary>
    /// <exception cref="GenSharpException">The file does not exist or cannot be read.</exception>
    /// <exception cref="SafetensorsFormatException">The file is not a valid safetensors file.</exception>
    public static SafetensorsReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Safetensors.RequireLittleEndian();
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new GenSharpException($"{path}: file not found; check the path");
        }
        catch (UnauthorizedAccessException)
        {
            throw new GenSharpException($"{path}: permission denied; check the file's permissions");
        }
        try
        {
            long fileLength = stream.Length;
            Span<byte> prefix = stackalloc byte[8];
            int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
            long headerLength = Safetensors.ReadHeaderLength(prefix[..got], fileLength, path);
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            long dataStart = 8 + headerLength;
            return new SafetensorsReader(path, stream, dataStart, Safetensors.ParseHeader(header, fileLength - dataStart, path));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The shape of tensor <paramref name="name"/>, from the header.</summary>
    public long[] Shape(string name) => (long[])Find(name).Shape.Clone();

    /// <summary>The dtype of tensor <paramref name="name"/>, from the header.</summary>
    public ScalarType DType(string name) => Find(name).Type;

    /// <summary>Reads tensor <paramref name="name"/> into a new CPU tensor that the caller owns.</summary>
    public Tensor Read(string name)
    {
        var entry = Find(name);
        var tensor = empty(entry.Shape, entry.Type, CPU);
        try
        {
            Fill(entry, tensor);
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
        return tensor;
    }

    /// <summary>
    /// Tensor <paramref name="name"/> as a CPU tensor over a private mapping of the file (copy-on-write; the file is not
    /// changed), which the caller owns. Pages are read from the file when first touched, so a table of which a few rows are
    /// read (token lookups) costs resident memory for those rows only. The mapping keeps the file's contents as they were
    /// when mapped only while the file is not rewritten in place (GenSharp's writers replace files by rename).
    /// For 1-byte dtypes; wider ones would need the file's offset to be aligned.
    /// </summary>
    public Tensor Map(string name)
    {
        var entry = Find(name);
        if (entry.Type is not (ScalarType.Int8 or ScalarType.Byte or ScalarType.Bool))
            throw new ArgumentException($"only 1-byte tensors are mapped; '{name}' is {entry.Type}", nameof(name));
        using var scope = NewDisposeScope();
        var file = from_file(Path, shared: false, size: _dataStart + entry.End, dtype: entry.Type);     // one byte an element: offsets are element indices
        return file.narrow(0, _dataStart + entry.Begin, entry.End - entry.Begin).view(entry.Shape).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Copies tensor <paramref name="name"/> into <paramref name="destination"/> (same shape; any device and float dtype),
    /// without recording gradients. A contiguous CPU destination of the file's dtype is filled from the file directly;
    /// otherwise through one temporary tensor.
    /// </summary>
    /// <exception cref="GenSharpException">The shapes differ.</exception>
    public void ReadInto(string name, Tensor destination)
    {
        var entry = Find(name);
        if (!entry.Shape.SequenceEqual(destination.shape))
            throw new GenSharpException($"{Path}: tensor '{name}' has shape {Safetensors.FormatShape(entry.Shape)}, the model needs {Safetensors.FormatShape(destination.shape)}");
        using var _ = no_grad();
        if (destination.device_type == DeviceType.CPU && destination.dtype == entry.Type && destination.is_contiguous())
        {
            Fill(entry, destination);
            return;
        }
        using var staged = Read(name);
        destination.copy_(staged);
    }

    /// <summary>Reads every tensor, as <see cref="Safetensors.Load"/> does.</summary>
    internal SafetensorsFile ReadAll()
    {
        var tensors = new Dictionary<string, Tensor>(Names.Count, StringComparer.Ordinal);
        try
        {
            // In offset order, so the file is read front to back.
            foreach (var entry in _entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                var tensor = Read(entry.Name);
                tensor.DetachFromDisposeScope();
                tensors[entry.Name] = tensor;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        var ordered = new Dictionary<string, Tensor>(Names.Count, StringComparer.Ordinal);
        foreach (var name in Names) ordered[name] = tensors[name];
        return new SafetensorsFile(Path, ordered, new Dictionary<string, string>(Metadata, StringComparer.Ordinal));
    }

    Safetensors.Entry Find(string name) =>
        _entries.TryGetValue(name, out var entry) ? entry : throw new GenSharpException($"{Path} has no tensor '{name}'");

    void Fill(Safetensors.Entry entry, Tensor target)
    {
        long size = entry.End - entry.Begin;
        if (size == 0) return;
        if (size > int.MaxValue)
            throw new GenSharpException($"{Path}: tensor '{entry.Name}' is {size} bytes, larger than this loader supports (2 GB per tensor)");
        _stream.Position = _dataStart + entry.Begin;
        _stream.ReadExactly(target.bytes);
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();
}
