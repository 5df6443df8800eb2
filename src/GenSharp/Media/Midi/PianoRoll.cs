using GenSharp.Checkpoints;

namespace GenSharp.Media.Midi;

/// <summary>
/// Chorale time steps as MIDI tracks and as a piano-roll picture. A piece is a list of steps on a fixed grid; each step
/// is either four voices (soprano, alto, tenor, bass; −1 = silent) or the set of sounding pitches. A pitch held over
/// consecutive steps becomes one note (the data does not tell a held note from a repeated one).
/// </summary>
public static class PianoRoll
{
    static readonly string[] VoiceNames = { "Soprano", "Alto", "Tenor", "Bass" };
    // Picture colours (RGB in [0, 1]) per voice; a piano roll without voices draws every note in the first.
    static readonly float[][] VoiceColours = { new[] { 0.95f, 0.3f, 0.25f }, new[] { 0.98f, 0.7f, 0.15f }, new[] { 0.3f, 0.8f, 0.35f }, new[] { 0.3f, 0.55f, 0.98f } };

    /// <summary>The notes of one line: runs of equal pitch (−1 = silence) over consecutive steps.</summary>
    public static List<MidiNote> Notes(IReadOnlyList<int> line, long ticksPerStep, int velocity = 80)
    {
        var notes = new List<MidiNote>();
        for (int i = 0; i < line.Count;)
        {
            int j = i + 1;
            while (j < line.Count && line[j] == line[i]) j++;
            if (line[i] >= 0) notes.Add(new MidiNote(line[i], i * ticksPerStep, (j - i) * ticksPerStep, velocity));
            i = j;
        }
        return notes;
    }

    /// <summary>One track per voice of a four-voice piece (steps, 4), on channels 0–3 with General MIDI program <paramref name="program"/> (default 19, church organ).</summary>
    public static IReadOnlyList<MidiTrack> VoiceTracks(IReadOnlyList<int[]> steps, long ticksPerStep, int program = 19) =>
        Enumerable.Range(0, 4).Select(v => new MidiTrack(VoiceNames[v], v, program, Notes(steps.Select(s => s[v]).ToList(), ticksPerStep))).ToList();

    /// <summary>One track of a piano roll (each step the set of sounding pitches): a pitch sounding over consecutive steps is one note.</summary>
    public static IReadOnlyList<MidiTrack> RollTracks(IReadOnlyList<int[]> steps, long ticksPerStep, int program = 19)
    {
        var notes = new List<MidiNote>();
        foreach (int pitch in steps.SelectMany(s => s).Where(p => p >= 0).Distinct().Order())
            notes.AddRange(Notes(steps.Select(s => s.Contains(pitch) ? pitch : -1).ToList(), ticksPerStep));
        return new[] { new MidiTrack("Chorale", 0, program, notes.OrderBy(n => n.Start).ThenBy(n => n.Pitch).ToList()) };
    }

    /// <summary>
    /// The picture as (3, pitches, steps) floats in [0, 1]: time left to right, pitch upwards from <paramref name="lowest"/>
    /// to <paramref name="highest"/>, voices in their colours when <paramref name="voices"/> (else every note in the first),
    /// a grey line at every bar of <paramref name="stepsPerBar"/> steps.
    /// </summary>
    public static Tensor Picture(IReadOnlyList<int[]> steps, bool voices, int stepsPerBar, int lowest = 36, int highest = 84)
    {
        int h = highest - lowest + 1, w = Math.Max(1, steps.Count);
        var rgb = new float[3 * h * w];
        void Set(int row, int col, float[] c) { for (int k = 0; k < 3; k++) rgb[(k * h + row) * w + col] = c[k]; }
        for (int t = 0; t < steps.Count; t++)
        {
            if (stepsPerBar > 0 && t % stepsPerBar == 0)
                for (int row = 0; row < h; row++) Set(row, t, new[] { 0.25f, 0.25f, 0.25f });
            for (int v = 0; v < steps[t].Length; v++)
            {
                int p = steps[t][v];
                if (p < lowest || p > highest) continue;
                Set(highest - p, t, VoiceColours[voices ? Math.Min(v, 3) : 0]);
            }
        }
        return torch.tensor(rgb).view(3, h, w);
    }

    /// <summary>Writes <see cref="Picture"/> as a PNG, <paramref name="scale"/> pixels per step and pitch.</summary>
    public static void SavePng(string path, IReadOnlyList<int[]> steps, bool voices, int stepsPerBar, int scale = 4)
    {
        AtomicFile.CheckPath(path);
        using var scope = torch.NewDisposeScope();
        ImageGrid.SavePng(Picture(steps, voices, stepsPerBar).unsqueeze(0), path, padding: 0, scale: scale);
    }
}
