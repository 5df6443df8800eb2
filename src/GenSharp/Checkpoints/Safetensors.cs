using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace GenSharp.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format: an 8-byte little-endian unsigned header length N, N bytes
/// of UTF-8 JSON header, then a data buffer holding every tensor's raw little-endian bytes back to back.
/// The header maps each tensor name to <c>{"dtype", "shape", "data_offsets": [begin, end]}</c> (offsets
/// relative to the start of the data buffer) and may carry string metadata under <c>__metadata__</c>.
/// </summary>
/// <remarks>
/// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL. Files written here list tensors
/// sorted by name (ordinal), lay them out in that order and pad the header with spaces so the data
/// buffer starts on an 8-byte boundary; the same tensors and metadata always give the same bytes.
/// Reading validates the whole header before any tensor is created and rejects anything the format
/// forbids with a <see cref="SafetensorsFormatException"/>.
/// </remarks>
public static class Safetensors
{
    const string MetadataKey = "__metadata__";

    static readonly (string Code, ScalarType Type)[] DTypes =
    [
        ("F64", ScalarType.Float64),
        ("F32", ScalarType.Float32),
        ("F16", ScalarType.Float16),
        ("BF16", ScalarType.BFloat16),
        ("I64", ScalarType.Int64),
        ("I32", ScalarType.Int32),
        ("I16", ScalarType.Int16),
        ("I8", ScalarType.Int8),
        ("U8", ScalarType.Byte),
        ("BOOL", ScalarType.Bool),
    ];

    static readonly string SupportedList = string.Join(", ", DTypes.Select(d => d.Code));

    /// <summary>
    /// Writes <paramref name="tensors"/> and optional <paramref name="metadata"/> to <paramref name="path"/>
    /// atomically (see <see cref="AtomicFile"/>): on failure an existing file is left unchanged.
    /// </summary>
    /// <param name="path">The file to create or replace; its folder must exist.</param>
    /// <param name="tensors">Tensors by name; any device, any layout (they are copied to contiguous CPU memory for writing and are not modified).</param>
    /// <param name="metadata">Optional string metadata stored under <c>__metadata__</c>.</param>
    /// <exception cref="GenSharpException">A name is empty or reserved, or a tensor has an unsupported dtype.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var plan = Plan(tensors, metadata);
        AtomicFile.Write(path, stream => WriteTo(stream, plan));
    }

    /// <summary>Encodes <paramref name="tensors"/> and optional <paramref name="metadata"/> as safetensors bytes, exactly as <see cref="Save"/> writes them.</summary>
    /// <param name="tensors">Tensors by name; any device, any layout.</param>
    /// <param name="metadata">Optional string metadata stored under <c>__metadata__</c>.</param>
    /// <returns>The complete file content.</returns>
    /// <exception cref="GenSharpException">A name is empty or reserved, a tensor has an unsupported dtype, or the result exceeds the 2 GB limit of a byte array (use <see cref="Save"/>).</exception>
    public static byte[] Serialize(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var plan = Plan(tensors, metadata);
        if (plan.TotalLength > Array.MaxLength)
            throw new GenSharpException($"the tensors need {plan.TotalLength} bytes, more than fits in one byte array; use Safetensors.Save to write them to a file");
        var bytes = new byte[plan.TotalLength];
        using (var stream = new MemoryStream(bytes, writable: true))
            WriteTo(stream, plan);
        return bytes;
    }

    /// <summary>Decodes safetensors <paramref name="bytes"/> into CPU tensors that own their memory (independent of <paramref name="bytes"/>).</summary>
    /// <param name="bytes">The complete file content.</param>
    /// <param name="sourceName">What to call the data in error messages, typically its file name.</param>
    /// <returns>The tensors and metadata; dispose it to free the tensors.</returns>
    /// <exception cref="SafetensorsFormatException">The bytes are not a valid safetensors file.</exception>
    public static SafetensorsFile Deserialize(byte[] bytes, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        ArgumentNullException.ThrowIfNull(sourceName);
        RequireLittleEndian();

        long headerLength = ReadHeaderLength(bytes, bytes.LongLength, sourceName);
        var header = new ReadOnlyMemory<byte>(bytes, 8, (int)headerLength);
        int dataStart = 8 + (int)headerLength;
        var parsed = ParseHeader(header, bytes.LongLength - dataStart, sourceName);
        return Materialize(parsed, sourceName, (entry, target) =>
            bytes.AsSpan(dataStart + (int)entry.Begin, (int)(entry.End - entry.Begin)).CopyTo(target));
    }

    /// <summary>Reads the safetensors file at <paramref name="path"/> into CPU tensors that own their memory.</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The tensors and metadata; dispose it to free the tensors.</returns>
    /// <exception cref="GenSharpException">The file does not exist or cannot be read.</exception>
    /// <exception cref="SafetensorsFormatException">The file is not a valid safetensors file.</exception>
    public static SafetensorsFile Load(string path)
    {
        using var reader = SafetensorsReader.Open(path);
        return reader.ReadAll();
    }

    /// <summary>The safetensors dtype code ("F32", "BF16", ...) for <paramref name="type"/>, or the TorchSharp name if the format has none here.</summary>
    internal static string DTypeName(ScalarType type)
    {
        foreach (var (code, t) in DTypes)
            if (t == type) return code;
        return type.ToString();
    }

    // ---------------------------------------------------------------- writing

    sealed record PlannedTensor(string Name, Tensor Tensor, string Code, long[] Shape, long Begin, long End);

    sealed record WritePlan(byte[] Header, List<PlannedTensor> Tensors, long TotalLength);

    static WritePlan Plan(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian();

        var planned = new List<PlannedTensor>(tensors.Count);
        long offset = 0;
        foreach (var name in tensors.Keys.OrderBy(k => k, StringComparer.Ordinal))
        {
            if (name.Length == 0)
                throw new GenSharpException("cannot save a tensor with an empty name; give every tensor a name");
            if (name == MetadataKey)
                throw new GenSharpException($"cannot save a tensor named {MetadataKey}: the name is reserved for metadata; rename the tensor");
            var tensor = tensors[name] ?? throw new GenSharpException($"tensor '{name}' is null; remove it or give it a value");
            var code = DTypes.FirstOrDefault(d => d.Type == tensor.dtype).Code
                ?? throw new GenSharpException($"tensor '{name}' has dtype {tensor.dtype}, which safetensors files here cannot hold; convert it to one of {SupportedList}");
            long size = checked(tensor.numel() * tensor.element_size());
            planned.Add(new PlannedTensor(name, tensor, code, tensor.shape, offset, offset + size));
            offset += size;
        }

        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var key in metadata.Keys.OrderBy(k => k, StringComparer.Ordinal))
                    w.WriteString(key, metadata[key] ?? throw new GenSharpException($"metadata '{key}' is null; give it a string value or leave it out"));
                w.WriteEndObject();
            }
            foreach (var p in planned)
            {
                w.WriteStartObject(p.Name);
                w.WriteString("dtype", p.Code);
                w.WriteStartArray("shape");
                foreach (var d in p.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(p.Begin);
                w.WriteNumberValue(p.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }

        // Pad with spaces so the data buffer (after the 8-byte length and the header) starts 8-byte aligned.
        int jsonLength = (int)json.Length;
        int padded = (jsonLength + 7) / 8 * 8;
        var header = new byte[padded];
        json.GetBuffer().AsSpan(0, jsonLength).CopyTo(header);
        header.AsSpan(jsonLength).Fill((byte)' ');

        return new WritePlan(header, planned, 8L + padded + offset);
    }

    static void WriteTo(Stream stream, WritePlan plan)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);
        foreach (var p in plan.Tensors)
        {
            using var scope = NewDisposeScope();
            var cpu = p.Tensor.detach().cpu().contiguous();
            var raw = cpu.bytes;
            if (raw.Length != p.End - p.Begin)
                throw new InvalidOperationException($"tensor '{p.Name}' produced {raw.Length} bytes, expected {p.End - p.Begin}");
            stream.Write(raw);
        }
    }

    // ---------------------------------------------------------------- reading

    internal sealed record Entry(string Name, ScalarType Type, string Code, long[] Shape, long Begin, long End);

    internal sealed record ParsedHeader(List<Entry> Entries, Dictionary<string, string> Metadata);

    static SafetensorsFormatException Bad(string source, string problem) =>
        new($"{source} is not a valid safetensors file: {problem}; re-export or re-download it");

    internal static long ReadHeaderLength(ReadOnlySpan<byte> prefix, long fileLength, string source)
    {
        if (fileLength < 8 || prefix.Length < 8)
            throw Bad(source, $"it is {fileLength} bytes long, shorter than the 8-byte header length field");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (n > (ulong)(fileLength - 8))
            throw Bad(source, $"header length {n} is beyond the file size ({fileLength} bytes)");
        if (n > int.MaxValue)
            throw Bad(source, $"header length {n} is too large");
        return (long)n;
    }

    internal static ParsedHeader ParseHeader(ReadOnlyMemory<byte> header, long dataLength, string source)
    {
        // The JSON reader only checks UTF-8 inside strings when they are decoded, so check it up front.
        if (!System.Text.Unicode.Utf8.IsValid(header.Span))
            throw Bad(source, "header is not valid UTF-8 text");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw Bad(source, $"header is not valid JSON ({FirstLine(e.Message)})");
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad(source, $"header is not a JSON object but {Describe(root.ValueKind)}");

            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                var name = property.Name;
                if (!seen.Add(name))
                    throw Bad(source, name == MetadataKey ? $"{MetadataKey} appears twice in the header" : $"duplicate tensor name '{name}' in the header");
                if (name == MetadataKey)
                    ReadMetadata(property.Value, metadata, source);
                else
                    entries.Add(ReadEntry(name, property.Value, dataLength, source));
            }

            CheckLayout(entries, dataLength, source);
            return new ParsedHeader(entries, metadata);
        }
    }

    static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(source, $"{MetadataKey} is {Describe(value.ValueKind)}, not an object of strings");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Bad(source, $"metadata value for '{item.Name}' is {Describe(item.Value.ValueKind)}, not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw Bad(source, $"duplicate metadata key '{item.Name}'");
        }
    }

    static Entry ReadEntry(string name, JsonElement value, long dataLength, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Bad(source, $"entry for tensor '{name}' is {Describe(value.ValueKind)}, not an object");

        var missing = new List<string>();
        if (!value.TryGetProperty("dtype", out var dtypeElement)) missing.Add("dtype");
        if (!value.TryGetProperty("shape", out var shapeElement)) missing.Add("shape");
        if (!value.TryGetProperty("data_offsets", out var offsetsElement)) missing.Add("data_offsets");
        if (missing.Count > 0)
            throw Bad(source, $"tensor '{name}' is missing {string.Join(", ", missing)}");

        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Bad(source, $"tensor '{name}' has a dtype that is {Describe(dtypeElement.ValueKind)}, not a string");
        var code = dtypeElement.GetString()!;
        var match = DTypes.FirstOrDefault(d => d.Code == code);
        if (match.Code is null)
            throw Bad(source, $"tensor '{name}' has unknown or unsupported dtype '{code}' (supported: {SupportedList})");

        if (shapeElement.ValueKind != JsonValueKind.Array)
            throw Bad(source, $"tensor '{name}' has a shape that is {Describe(shapeElement.ValueKind)}, not a list of integers");
        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d))
                throw Bad(source, $"tensor '{name}' has shape entry {dim.GetRawText()}, which is not an integer");
            if (d < 0)
                throw Bad(source, $"tensor '{name}' has negative dimension {d} in its shape");
            shape[i++] = d;
        }

        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw Bad(source, $"tensor '{name}' has data_offsets {offsetsElement.GetRawText()}, expected [begin, end]");
        var offsets = new ulong[2];
        i = 0;
        foreach (var o in offsetsElement.EnumerateArray())
        {
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetUInt64(out var v))
                throw Bad(source, $"tensor '{name}' has data offset {o.GetRawText()}, which is not a non-negative integer");
            offsets[i++] = v;
        }
        ulong begin = offsets[0], end = offsets[1];
        if (begin > end)
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] whose begin is after its end");
        if (end > (ulong)dataLength)
            throw Bad(source, $"tensor '{name}' has data_offsets [{begin}, {end}] out of range of the {dataLength}-byte data buffer");

        long elementSize = ElementSize(match.Type);
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (acc, d) => checked(acc * d)) * elementSize);
        }
        catch (OverflowException)
        {
            throw Bad(source, $"tensor '{name}' has shape {FormatShape(shape)} that is too large");
        }
        long actual = (long)(end - begin);
        if (actual != expected)
            throw Bad(source, $"tensor '{name}' has {actual} bytes but byte size for shape {FormatShape(shape)} of {code} should be {expected}");

        return new Entry(name, match.Type, code, shape, (long)begin, (long)end);
    }

    static void CheckLayout(List<Entry> entries, long dataLength, string source)
    {
        long cursor = 0;
        Entry? previous = null;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin < cursor)
                throw Bad(source, $"tensors '{previous!.Name}' and '{e.Name}' have overlapping data_offsets");
            if (e.Begin > cursor)
                throw Bad(source, $"data buffer has a gap of unused bytes [{cursor}, {e.Begin}) before tensor '{e.Name}'");
            cursor = e.End;
            previous = e;
        }
        if (cursor != dataLength)
            throw Bad(source, $"data buffer has a gap of {dataLength - cursor} unused bytes after the last tensor");
    }

    static SafetensorsFile Materialize(ParsedHeader parsed, string source, Action<Entry, Span<byte>> fill)
    {
        var created = new Dictionary<Entry, Tensor>(ReferenceEqualityComparer.Instance);
        try
        {
            // Fill in offset order so a stream-backed reader moves forward only.
            foreach (var entry in parsed.Entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
            {
                var tensor = empty(entry.Shape, entry.Type, CPU);
                tensor.DetachFromDisposeScope();
                created[entry] = tensor;
                long size = entry.End - entry.Begin;
                if (size > 0)
                {
                    if (size > int.MaxValue)
                        throw new GenSharpException($"{source}: tensor '{entry.Name}' is {size} bytes, larger than this loader supports (2 GB per tensor)");
                    fill(entry, tensor.bytes);
                }
            }
        }
        catch
        {
            foreach (var t in created.Values) t.Dispose();
            throw;
        }
        var tensors = new Dictionary<string, Tensor>(parsed.Entries.Count, StringComparer.Ordinal);
        foreach (var entry in parsed.Entries) tensors[entry.Name] = created[entry];
        return new SafetensorsFile(source, tensors, parsed.Metadata);
    }

    // ---------------------------------------------------------------- helpers

    static long ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };

    internal static string FormatShape(long[] shape) =>
        "(" + string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")";

    static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "empty",
    };

    static string FirstLine(string text)
    {
        int newline = text.IndexOfAny(['\r', '\n']);
        return newline < 0 ? text : text[..newline];
    }

    internal static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors support requires a little-endian machine");
    }
}
