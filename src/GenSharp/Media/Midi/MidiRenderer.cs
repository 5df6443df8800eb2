using System.Diagnostics;
using GenSharp.Media.Audio;

namespace GenSharp.Media.Midi;

/// <summary>
/// Renders a MIDI file to audio with FluidSynth (Debian <c>fluidsynth</c>) and the General MIDI SoundFont of Debian
/// <c>fluid-soundfont-gm</c>: a faster-than-real-time render to raw 16-bit stereo, mixed down to mono here.
/// </summary>
public static class MidiRenderer
{
    /// <summary>The SoundFont of Debian's fluid-soundfont-gm.</summary>
    public const string DefaultSoundFont = "/usr/share/sounds/sf2/FluidR3_GM.sf2";
    const string Install = "install them with 'apt-get install fluidsynth fluid-soundfont-gm'";

    /// <summary>Whether fluidsynth and the default SoundFont are installed.</summary>
    public static bool Available => File.Exists(DefaultSoundFont) && FindFluidSynth() is not null;

    /// <summary>Renders <paramref name="midiPath"/> to a mono waveform at <paramref name="sampleRate"/> Hz.</summary>
    /// <exception cref="GenSharpException">fluidsynth or the SoundFont is missing, or the render failed.</exception>
    public static Waveform Render(string midiPath, int sampleRate = 22050, string? soundFont = null)
    {
        soundFont ??= DefaultSoundFont;
        if (!File.Exists(midiPath)) throw new GenSharpException($"{midiPath}: MIDI file not found");
        if (!File.Exists(soundFont)) throw new GenSharpException($"rendering MIDI needs the SoundFont {soundFont}; {Install}");
        var exe = FindFluidSynth() ?? throw new GenSharpException($"rendering MIDI needs fluidsynth; {Install}");
        var raw = Path.Combine(Path.GetTempPath(), $"gensharp-render-{Environment.ProcessId}-{Guid.NewGuid():N}.raw");
        try
        {
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            // -n no MIDI input, -i no shell, -q quiet; -F fast render to a raw file of little-endian signed 16-bit stereo frames.
            foreach (var a in new[] { "-n", "-i", "-q", "-g", "0.6", "-r", sampleRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
                         "-T", "raw", "-O", "s16", "-E", "little", "-F", raw, soundFont, midiPath })
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi) ?? throw new GenSharpException("could not start fluidsynth");
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(raw))
                throw new GenSharpException($"fluidsynth failed on {midiPath} (exit {p.ExitCode}): {stderr.Result.Trim().Split('\n').FirstOrDefault()}");
            var bytes = File.ReadAllBytes(raw);
            int frames = bytes.Length / 4;
            var mono = new short[frames];
            for (int i = 0; i < frames; i++)
            {
                int left = BitConverter.ToInt16(bytes, 4 * i), right = BitConverter.ToInt16(bytes, 4 * i + 2);
                mono[i] = (short)((left + right) / 2);
            }
            return new Waveform(mono, sampleRate);
        }
        finally { if (File.Exists(raw)) File.Delete(raw); }
    }

    static string? FindFluidSynth() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "fluidsynth")).FirstOrDefault(File.Exists);
}
