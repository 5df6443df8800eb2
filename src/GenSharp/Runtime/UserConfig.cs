namespace GenSharp.Runtime;

/// <summary>
/// Where GenSharp keeps a user's own files (watermark and signing keys): <c>$GENSHARP_CONFIG_DIR</c>, else
/// <c>$XDG_CONFIG_HOME/gensharp</c>, else <c>~/.config/gensharp</c> (the platform's application-data folder elsewhere).
/// </summary>
public static class UserConfig
{
    /// <summary>The folder (not created here).</summary>
    public static string Directory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("GENSHARP_CONFIG_DIR") is { Length: > 0 } own) return own;
            if (Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg) return Path.Combine(xdg, "gensharp");
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return OperatingSystem.IsWindows()
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "gensharp")
                : Path.Combine(home, ".config", "gensharp");
        }
    }

    /// <summary>Writes a secret file readable by its owner only (0600 on Unix), creating its folder (0700); fails if it exists.</summary>
    public static void WriteSecret(string path, byte[] content)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!System.IO.Directory.Exists(dir))
        {
            if (OperatingSystem.IsWindows()) System.IO.Directory.CreateDirectory(dir);
            else System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var f = new FileStream(path, options);
        f.Write(content);
    }
}
