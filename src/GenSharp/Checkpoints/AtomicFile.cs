using System.Security.Cryptography;
using System.Text;

namespace GenSharp.Checkpoints;

/// <summary>
/// Writes files so that readers see either the old content or the complete new content, never a
/// partial file: data goes to a temporary file in the same folder, is flushed to disk, and then
/// replaces the target in one rename. If writing fails the temporary file is removed and any
/// existing file at the target path is left untouched.
/// </summary>
public static class AtomicFile
{
    /// <summary>Validates a user-given output path and returns its full form; <paramref name="what"/> names the argument in messages.</summary>
    public static string CheckPath(string? path, string what = "path")
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new GenSharpException($"{what} is empty; give a file name to write to");
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new GenSharpException($"{what} '{path}' is not a valid file path ({e.Message}); choose another name");
        }
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="data"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="data">The complete new content.</param>
    public static void WriteAllBytes(string path, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        Write(path, stream => stream.Write(data, 0, data.Length));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="text"/> encoded as UTF-8 (no byte-order mark).</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="text">The complete new content.</param>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
    }

    /// <summary>
    /// Atomically replaces <paramref name="path"/> with whatever <paramref name="write"/> writes to the
    /// stream it is given. If <paramref name="write"/> throws, the exception propagates, the temporary
    /// file is deleted and the previous file (if any) is unchanged.
    /// </summary>
    /// <param name="path">The file to create or replace; its folder is created when missing.</param>
    /// <param name="write">Writes the complete new content; must not close the stream.</param>
    /// <exception cref="GenSharpException">The folder of <paramref name="path"/> cannot be created.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new GenSharpException($"{path}: cannot write to a root directory; give a file path");
        try { Directory.CreateDirectory(folder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new GenSharpException($"{path}: cannot create folder {folder} ({e.Message.Split('\n')[0]}); choose another path"); }

        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.tmp-{RandomSuffix()}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    static string RandomSuffix() => Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();

    static void TryDelete(string temp)
    {
        try
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
