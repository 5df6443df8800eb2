using System.Text;
using GenSharp.Checkpoints;

namespace GenSharp.Media.Midi;

/// <summary>
/// Writes Standard MIDI Files, format 1 (MIDI Manufacturers Association, "Standard MIDI-File Format Spec. 1.1"): a
/// header chunk, a conductor track with the tempo and a 4/4 time signature, then one track per <see cref="MidiTrack"/>
/// with its name, a program change and its notes as note-on / note-off events. Delta times are variable-length
/// quantities; at equal times note-offs come before note-ons, so a repeated pitch restarts cleanly.
/// </summary>
public static class MidiFile
{
    /// <summary>Writes the file (replaced atomically).</summary>
    public static void Write(string path, IReadOnlyList<MidiTrack> tracks, int ticksPerQuarter = 480, double beatsPerMinute = 90)
    {
        AtomicFile.CheckPath(path);
        AtomicFile.WriteAllBytes(path, Encode(tracks, ticksPerQuarter, beatsPerMinute));
    }

    /// <summary>The bytes of the file.</summary>
    public static byte[] Encode(IReadOnlyList<MidiTrack> tracks, int ticksPerQuarter = 480, double beatsPerMinute = 90)
    {
        if (tracks.Count > 65534) throw new ArgumentException("at most 65534 tracks");
        if (ticksPerQuarter is < 1 or > 0x7FFF) throw new ArgumentException($"ticks per quarter must be in [1, 32767], got {ticksPerQuarter}");
        if (!(beatsPerMinute >= 4 && beatsPerMinute <= 1000)) throw new ArgumentException($"tempo must be in [4, 1000] bpm, got {beatsPerMinute}");
        var file = new MemoryStream();
        file.Write(Encoding.ASCII.GetBytes("MThd"));
        WriteBig(file, 6, 4);
        WriteBig(file, 1, 2);                       // format 1: simultaneous tracks
        WriteBig(file, tracks.Count + 1, 2);
        WriteBig(file, ticksPerQuarter, 2);

        long microsPerQuarter = (long)Math.Round(60_000_000 / beatsPerMinute);
        var conductor = new MemoryStream();
        Delta(conductor, 0); conductor.Write(new byte[] { 0xFF, 0x51, 0x03 }); WriteBig(conductor, microsPerQuarter, 3);
        Delta(conductor, 0); conductor.Write(new byte[] { 0xFF, 0x58, 0x04, 4, 2, 24, 8 });   // 4/4, 24 clocks per click, 8 32nds per quarter
        EndTrack(conductor, file);

        foreach (var t in tracks)
        {
            if (t.Channel is < 0 or > 15) throw new ArgumentException($"channel must be in [0, 15], got {t.Channel}");
            if (t.Program is < 0 or > 127) throw new ArgumentException($"program must be in [0, 127], got {t.Program}");
            var track = new MemoryStream();
            var name = Encoding.UTF8.GetBytes(t.Name);
            Delta(track, 0); track.Write(new byte[] { 0xFF, 0x03 }); Vlq(track, name.Length); track.Write(name);
            Delta(track, 0); track.WriteByte((byte)(0xC0 | t.Channel)); track.WriteByte((byte)t.Program);
            // (tick, order, status, pitch, velocity): offs (order 0) sort before ons (order 1) at the same tick.
            var events = new List<(long Tick, int Order, int Status, int Pitch, int Velocity)>();
            foreach (var n in t.Notes)
            {
                if (n.Pitch is < 0 or > 127) throw new ArgumentException($"pitch must be in [0, 127], got {n.Pitch}");
                if (n.Velocity is < 1 or > 127) throw new ArgumentException($"velocity must be in [1, 127], got {n.Velocity}");
                if (n.Start < 0 || n.Duration < 1) throw new ArgumentException($"a note needs start ≥ 0 and duration ≥ 1 tick, got {n.Start}, {n.Duration}");
                events.Add((n.Start, 1, 0x90 | t.Channel, n.Pitch, n.Velocity));
                events.Add((n.Start + n.Duration, 0, 0x80 | t.Channel, n.Pitch, 0));
            }
            long now = 0;
            foreach (var e in events.OrderBy(e => e.Tick).ThenBy(e => e.Order).ThenBy(e => e.Pitch))
            {
                Delta(track, e.Tick - now);
                now = e.Tick;
                track.WriteByte((byte)e.Status); track.WriteByte((byte)e.Pitch); track.WriteByte((byte)e.Velocity);
            }
            EndTrack(track, file);
        }
        return file.ToArray();
    }

    /// <summary>A variable-length quantity: 7 bits per byte, most significant first, the high bit set on all but the last.</summary>
    public static byte[] VariableLength(long value)
    {
        if (value is < 0 or > 0x0FFFFFFF) throw new ArgumentOutOfRangeException(nameof(value), "a MIDI delta time is in [0, 2^28)");
        var bytes = new List<byte> { (byte)(value & 0x7F) };
        for (value >>= 7; value > 0; value >>= 7) bytes.Insert(0, (byte)(0x80 | (value & 0x7F)));
        return bytes.ToArray();
    }

    static void Delta(Stream s, long ticks) => s.Write(VariableLength(ticks));
    static void Vlq(Stream s, long value) => s.Write(VariableLength(value));

    static void EndTrack(MemoryStream track, Stream file)
    {
        Delta(track, 0); track.Write(new byte[] { 0xFF, 0x2F, 0x00 });
        file.Write(Encoding.ASCII.GetBytes("MTrk"));
        WriteBig(file, track.Length, 4);
        track.Position = 0;
        track.CopyTo(file);
    }

    static void WriteBig(Stream s, long value, int bytes)
    {
        for (int i = bytes - 1; i >= 0; i--) s.WriteByte((byte)(value >> (8 * i)));
    }
}
