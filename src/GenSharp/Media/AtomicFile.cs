namespace GenSharp.Media;

/// <summary>
/// Writes a file so readers never see a half-written one: the bytes go to a temporary file in the
/// same folder, which then replaces the target in one rename.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Validates <paramref name="path"/> and returns its full form; <paramref name="what"/> names the argument in messages.</summary>
    internal static string CheckPath(string? path, string what = "path")
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

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    internal static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        // Spans cannot be captured by a lambda, so this overload writes directly.
        var full = CheckPath(path);
        var tmp = TempNameFor(full);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw new GenSharpException($"could not write '{full}': {FirstLine(e.Message)}; choose a writable location", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>Lets <paramref name="write"/> fill a stream that atomically becomes <paramref name="path"/>.</summary>
    internal static void Write(string path, Action<Stream> write)
    {
        var full = CheckPath(path);
        var tmp = TempNameFor(full);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(tmp);
            throw new GenSharpException($"could not write '{full}': {FirstLine(e.Message)}; choose a writable location", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    static string TempNameFor(string full)
    {
        var dir = Path.GetDirectoryName(full);
        if (string.IsNullOrEmpty(dir)) dir = ".";
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GenSharpException($"could not create folder '{dir}': {FirstLine(e.Message)}; choose a writable location", e);
        }
        return Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..12] + ".tmp");
    }

    static void TryDelete(string tmp)
    {
        try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
