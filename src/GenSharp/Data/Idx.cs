using System.Buffers.Binary;
using System.IO.Compression;

namespace GenSharp.Data;

/// <summary>
/// Reads and writes IDX files, the container of MNIST-style data sets: a big-endian header
/// (magic number 0x0000 08 NN, where 08 means unsigned bytes and NN the number of dimensions,
/// followed by NN 32-bit sizes) and then the raw bytes. Files may be gzip-compressed; compression
/// is detected from the gzip magic bytes (0x1f 0x8b), not from the file name.
/// </summary>
public static class Idx
{
    /// <summary>Magic number of an IDX file of unsigned-byte images (3 dimensions: count, rows, columns).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned-byte labels (1 dimension: count).</summary>
    public const int LabelsMagic = 0x00000801;

    const byte UnsignedByteType = 0x08;

    /// <summary>Reads an IDX image file (gzip or raw).</summary>
    /// <param name="path">File to read.</param>
    /// <exception cref="GenSharpException">The file does not exist or cannot be read.</exception>
    /// <exception cref="IdxFormatException">The file is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(string path) => DecodeImages(ReadFile(path), path);

    /// <summary>Reads an IDX image file (gzip or raw) from a stream, read to its end.</summary>
    /// <param name="stream">Stream positioned at the start of the file.</param>
    /// <param name="name">Name used in error messages (a path or a description).</param>
    /// <exception cref="IdxFormatException">The content is not a well-formed IDX image file.</exception>
    public static IdxImages ReadImages(Stream stream, string name) => DecodeImages(ReadStream(stream, name), name);

    /// <summary>Reads an IDX label file (gzip or raw): one byte per item.</summary>
    /// <param name="path">File to read.</param>
    /// <exception cref="GenSharpException">The file does not exist or cannot be read.</exception>
    /// <exception cref="IdxFormatException">The file is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(string path) => DecodeLabels(ReadFile(path), path);

    /// <summary>Reads an IDX label file (gzip or raw) from a stream, read to its end.</summary>
    /// <param name="stream">Stream positioned at the start of the file.</param>
    /// <param name="name">Name used in error messages (a path or a description).</param>
    /// <exception cref="IdxFormatException">The content is not a well-formed IDX label file.</exception>
    public static byte[] ReadLabels(Stream stream, string name) => DecodeLabels(ReadStream(stream, name), name);

    /// <summary>Writes images as an IDX image file, replacing the file atomically (temporary file, then rename).</summary>
    /// <param name="path">Destination file; its directory is created if needed.</param>
    /// <param name="images">Images to write.</param>
    /// <param name="gzip">Compress with gzip (smallest size) when true; write raw IDX when false.</param>
    public static void WriteImages(string path, IdxImages images, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(images);
        WriteAtomically(path, s => WriteImages(s, images, gzip));
    }

    /// <summary>Writes images as an IDX image file to a stream (left open).</summary>
    /// <param name="stream">Destination stream.</param>
    /// <param name="images">Images to write.</param>
    /// <param name="gzip">Compress with gzip (smallest size) when true; write raw IDX when false.</param>
    public static void WriteImages(Stream stream, IdxImages images, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(images);
        Write(stream, ImagesMagic, new[] { images.Count, images.Rows, images.Columns }, images.Pixels, gzip);
    }

    /// <summary>Writes labels as an IDX label file, replacing the file atomically (temporary file, then rename).</summary>
    /// <param name="path">Destination file; its directory is created if needed.</param>
    /// <param name="labels">One byte per item.</param>
    /// <param name="gzip">Compress with gzip (smallest size) when true; write raw IDX when false.</param>
    public static void WriteLabels(string path, byte[] labels, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(labels);
        WriteAtomically(path, s => WriteLabels(s, labels, gzip));
    }

    /// <summary>Writes labels as an IDX label file to a stream (left open).</summary>
    /// <param name="stream">Destination stream.</param>
    /// <param name="labels">One byte per item.</param>
    /// <param name="gzip">Compress with gzip (smallest size) when true; write raw IDX when false.</param>
    public static void WriteLabels(Stream stream, byte[] labels, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(labels);
        Write(stream, LabelsMagic, new[] { labels.Length }, labels, gzip);
    }

    static IdxImages DecodeImages(byte[] raw, string name)
    {
        var (dims, data, offset) = Parse(raw, name, ImagesMagic, "images");
        int count = dims[0], rows = dims[1], cols = dims[2];
        if (rows < 1 || cols < 1)
            throw new IdxFormatException($"{name}: image size {rows}×{cols} in the IDX header is invalid; the file is damaged, replace it");
        CheckPayload(name, data.Count - offset, (long)count * rows * cols, $"{count} images of {rows}×{cols}");
        var pixels = new byte[(long)count * rows * cols];
        Buffer.BlockCopy(data.Array!, data.Offset + offset, pixels, 0, pixels.Length);
        return new IdxImages(count, rows, cols, pixels);
    }

    static byte[] DecodeLabels(byte[] raw, string name)
    {
        var (dims, data, offset) = Parse(raw, name, LabelsMagic, "labels");
        int count = dims[0];
        CheckPayload(name, data.Count - offset, count, $"{count} labels");
        var labels = new byte[count];
        Buffer.BlockCopy(data.Array!, data.Offset + offset, labels, 0, count);
        return labels;
    }

    /// <summary>Unwraps gzip if present, then checks magic number and dimension count and reads the sizes.</summary>
    static (int[] Dims, ArraySegment<byte> Data, int Offset) Parse(byte[] raw, string name, int expectedMagic, string kind)
    {
        var data = IsGzip(raw) ? Gunzip(raw, name) : new ArraySegment<byte>(raw);
        var span = data.AsSpan();
        int expectedDims = expectedMagic & 0xff;
        if (span.Length < 4)
            throw new IdxFormatException($"{name}: only {span.Length} bytes, too short for an IDX header; expected an IDX {kind} file (magic 0x{expectedMagic:X8})");
        int magic = BinaryPrimitives.ReadInt32BigEndian(span);
        if (span[0] != 0 || span[1] != 0 || span[2] != UnsignedByteType)
            throw new IdxFormatException($"{name}: wrong magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} for an IDX {kind} file; check that the right file was given");
        int ndim = span[3];
        if (ndim != expectedDims)
            throw new IdxFormatException($"{name}: wrong number of dimensions {ndim} (magic 0x{magic:X8}), expected {expectedDims} for an IDX {kind} file; images and labels files may be swapped");
        int headerLength = 4 + 4 * ndim;
        if (span.Length < headerLength)
            throw new IdxFormatException($"{name}: truncated header ({span.Length} bytes, need {headerLength}); the file is incomplete, replace it");
        var dims = new int[ndim];
        for (int i = 0; i < ndim; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(span[(4 + 4 * i)..]);
            if (d > int.MaxValue)
                throw new IdxFormatException($"{name}: dimension {i} has impossible size {d}; the file is damaged, replace it");
            dims[i] = (int)d;
        }
        return (dims, data, headerLength);
    }

    static void CheckPayload(string name, long actual, long expected, string what)
    {
        if (actual < expected)
            throw new IdxFormatException($"{name}: truncated payload: header promises {what} ({expected} bytes) but only {actual} bytes follow; the file is incomplete, replace it");
        if (actual > expected)
            throw new IdxFormatException($"{name}: trailing garbage: {actual - expected} extra bytes after {what} ({expected} bytes); the file is damaged or not IDX, replace it");
        if (expected > Array.MaxLength)
            throw new IdxFormatException($"{name}: {what} is too large to load ({expected} bytes)");
    }

    static bool IsGzip(byte[] raw) => raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;

    static ArraySegment<byte> Gunzip(byte[] raw, string name)
    {
        try
        {
            using var input = new MemoryStream(raw, writable: false);
            using var gz = new GZipStream(input, CompressionMode.Decompress);
            var output = new MemoryStream(capacity: Math.Min(Array.MaxLength, raw.Length * 2));
            gz.CopyTo(output);
            return new ArraySegment<byte>(output.GetBuffer(), 0, (int)output.Length);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException($"{name}: corrupt gzip data ({e.Message.TrimEnd('.')}); the file is damaged, replace it", e);
        }
    }

    static byte[] ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new GenSharpException($"{path}: file not found; check the path");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GenSharpException($"{path}: cannot read file ({e.Message.TrimEnd('.')}); check its permissions", e);
        }
    }

    static byte[] ReadStream(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return ms.ToArray();
    }

    static void Write(Stream stream, int magic, int[] dims, byte[] payload, bool gzip)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int i = 0; i < dims.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * i), dims[i]);
        if (gzip)
        {
            using var gz = new GZipStream(stream, CompressionLevel.SmallestSize, leaveOpen: true);
            gz.Write(header);
            gz.Write(payload);
        }
        else
        {
            stream.Write(header);
            stream.Write(payload);
        }
    }

    static void WriteAtomically(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
                write(fs);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
