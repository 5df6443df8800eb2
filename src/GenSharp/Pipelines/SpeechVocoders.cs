using GenSharp.Checkpoints;
using GenSharp.Models;

namespace GenSharp.Pipelines;

/// <summary>
/// Which vocoder a <c>tts</c> checkpoint speaks with. A checkpoint folder may hold its WaveNet vocoder in a
/// <c>vocoder/</c> subfolder (a <c>wavenet</c> checkpoint trained with <c>conditioning=mel</c> at the same spectrogram
/// settings); then <c>gensharp speak</c> and <c>POST /v1/audio/speech</c> use it, and without one the post-net and
/// Griffin-Lim make the waveform.
/// </summary>
public static class SpeechVocoders
{
    /// <summary>The subfolder of a tts checkpoint that holds its vocoder.</summary>
    public const string Folder = "vocoder";

    /// <summary>
    /// The vocoder checkpoint to load for <paramref name="ttsDir"/>: <paramref name="choice"/> when it names a folder,
    /// none for <c>none</c> (Griffin-Lim), and without a choice the checkpoint's own <c>vocoder/</c> when present.
    /// </summary>
    public static string? Resolve(string ttsDir, string? choice)
    {
        if (choice is "none") return null;
        if (choice is not null)
            return Directory.Exists(choice) ? choice : throw new GenSharpException($"--vocoder {choice}: no such checkpoint folder (give a wavenet checkpoint, or 'none' for Griffin-Lim)");
        // The folder given (a run's folder or a checkpoint), or the checkpoint a run folder resolves to.
        foreach (var dir in new[] { ttsDir, CheckpointFolder.Resolve(ttsDir) })
            if (Directory.Exists(Path.Combine(dir, Folder))) return Path.Combine(dir, Folder);
        return null;
    }

    /// <summary>Loads a vocoder checkpoint and checks that it is one: a mel-conditioned audio model.</summary>
    public static LoadedModel Load(string dir, Device device)
    {
        var loaded = Checkpoint.LoadModel(dir, device);
        if (loaded.Model is IAudioModel { NeedsMel: true }) return loaded;
        string family = loaded.Family.Name;
        loaded.Dispose();
        throw new GenSharpException($"{dir} holds a {family} model, not a vocoder; give a wavenet checkpoint trained with conditioning=mel");
    }
}
