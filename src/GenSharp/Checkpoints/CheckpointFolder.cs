namespace GenSharp.Checkpoints;

/// <summary>
/// A checkpoint is a folder: <c>config.json</c> + <c>model.safetensors</c>, plus for resume
/// <c>trainer_state.json</c>, <c>optimizer.bin</c> and optionally <c>ema.safetensors</c>.
/// A folder is replaced as a whole: the new one is written beside the old under a temporary
/// name and swapped in by two renames, so a crash leaves either the old or the new checkpoint.
/// </summary>
public static class CheckpointFolder
{
    public const string ConfigFile = "config.json";
    public const string ModelFile = "model.safetensors";
    public const string EmaFile = "ema.safetensors";
    public const string TrainerStateFile = "trainer_state.json";
    public const string OptimizerFile = "optimizer.bin";
    /// <summary>Name of the checkpoint folder inside a run folder.</summary>
    public const string RunSubfolder = "checkpoint";

    /// <summary>
    /// Writes a checkpoint to <paramref name="dir"/> atomically: <paramref name="writeFiles"/> fills a
    /// temporary sibling folder; only when it returns is the old checkpoint replaced.
    /// </summary>
    public static void Save(string dir, Action<string> writeFiles)
    {
        dir = Path.GetFullPath(dir);
        var parent = Path.GetDirectoryName(dir)!;
        Directory.CreateDirectory(parent);
        var tmp = dir + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        var old = dir + ".old";
        Directory.CreateDirectory(tmp);
        try
        {
            writeFiles(tmp);
            if (!File.Exists(Path.Combine(tmp, ConfigFile)) || !File.Exists(Path.Combine(tmp, ModelFile)))
                throw new InvalidOperationException("checkpoint writer must produce config.json and model.safetensors");
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
        if (Directory.Exists(old)) Directory.Delete(old, recursive: true);
        if (Directory.Exists(dir)) Directory.Move(dir, old);
        Directory.Move(tmp, dir);
        TryDelete(old);
    }

    /// <summary>
    /// Finds the checkpoint folder for a user-given path: the folder itself, a run folder's
    /// <c>checkpoint/</c>, or the <c>.old</c> copy left by a crash between the two renames.
    /// </summary>
    public static string Resolve(string path)
    {
        foreach (var candidate in new[] { path, Path.Combine(path, RunSubfolder) })
        {
            if (File.Exists(Path.Combine(candidate, ConfigFile))) return candidate;
            var old = candidate.TrimEnd('/') + ".old";
            if (File.Exists(Path.Combine(old, ConfigFile))) return old;
        }
        if (!Directory.Exists(path) && !File.Exists(path))
            throw new GenSharpException($"checkpoint '{path}' does not exist; pass a checkpoint folder or the output folder of a training run");
        throw new GenSharpException($"'{path}' is not a checkpoint (no config.json + model.safetensors in it or in {RunSubfolder}/); pass the output folder of a training run");
    }

    /// <summary>True when the folder (or a run folder) holds a checkpoint.</summary>
    public static bool Exists(string path)
    {
        try { Resolve(path); return true; }
        catch (GenSharpException) { return false; }
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
