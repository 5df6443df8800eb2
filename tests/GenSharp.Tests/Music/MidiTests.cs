using GenSharp.Data;
using GenSharp.Media.Audio;
using GenSharp.Media.Midi;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace GenSharp.Tests.Music;

public sealed class MidiTests : IDisposable
{
    readonly string _dir = TestData.TempDir();

    public MidiTests() => TorchRuntime.EnsureReady();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>The examples table of the SMF 1.1 specification ("Variable-Length Quantities").</summary>
    [Theory]
    [InlineData(0x00, new byte[] { 0x00 })]
    [InlineData(0x40, new byte[] { 0x40 })]
    [InlineData(0x7F, new byte[] { 0x7F })]
    [InlineData(0x80, new byte[] { 0x81, 0x00 })]
    [InlineData(0x2000, new byte[] { 0xC0, 0x00 })]
    [InlineData(0x3FFF, new byte[] { 0xFF, 0x7F })]
    [InlineData(0x4000, new byte[] { 0x81, 0x80, 0x00 })]
    [InlineData(0x100000, new byte[] { 0xC0, 0x80, 0x00 })]
    [InlineData(0x1FFFFF, new byte[] { 0xFF, 0xFF, 0x7F })]
    [InlineData(0x200000, new byte[] { 0x81, 0x80, 0x80, 0x00 })]
    [InlineData(0x0FFFFFFF, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    public void VariableLengthQuantitiesMatchTheSpecification(long value, byte[] expected) =>
        Assert.Equal(expected, MidiFile.VariableLength(value));

    [Fact]
    public void FileBytesAreTheHandWrittenEvents()
    {
        // Two notes on channel 2, program 19: C4 for a quarter, then E4 from tick 480 (a note-off and a note-on at the same tick).
        var track = new MidiTrack("A", 2, 19, new[] { new MidiNote(60, 0, 480, 100), new MidiNote(64, 480, 960, 90) });
        var bytes = MidiFile.Encode(new[] { track }, ticksPerQuarter: 480, beatsPerMinute: 120);
        var expected = new List<byte>();
        expected.AddRange("MThd"u8.ToArray()); expected.AddRange(new byte[] { 0, 0, 0, 6, 0, 1, 0, 2, 0x01, 0xE0 });
        // Conductor: tempo 500000 µs per quarter, 4/4, end of track.
        var conductor = new byte[] { 0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20, 0, 0xFF, 0x58, 4, 4, 2, 24, 8, 0, 0xFF, 0x2F, 0 };
        expected.AddRange("MTrk"u8.ToArray()); expected.AddRange(new byte[] { 0, 0, 0, (byte)conductor.Length }); expected.AddRange(conductor);
        var events = new byte[]
        {
            0, 0xFF, 0x03, 1, (byte)'A',         // track name
            0, 0xC2, 19,                          // program change
            0, 0x92, 60, 100,                     // C4 on
            0x83, 0x60, 0x82, 60, 0,              // 480 ticks later: C4 off (before E4 on)
            0, 0x92, 64, 90,                      // E4 on
            0x87, 0x40, 0x82, 64, 0,              // 960 ticks later: E4 off
            0, 0xFF, 0x2F, 0,
        };
        expected.AddRange("MTrk"u8.ToArray()); expected.AddRange(new byte[] { 0, 0, 0, (byte)events.Length }); expected.AddRange(events);
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void HeldPitchesBecomeOneNoteAndRestsNone()
    {
        var notes = PianoRoll.Notes(new[] { 60, 60, -1, 62, 62, 62, 60 }, ticksPerStep: 120);
        Assert.Equal(new[] { new MidiNote(60, 0, 240), new MidiNote(62, 360, 360), new MidiNote(60, 720, 120) }, notes);
        var roll = PianoRoll.RollTracks(new[] { new[] { 60, 64 }, new[] { 60, 67 }, Array.Empty<int>() }, ticksPerStep: 480);
        Assert.Equal(new[] { new MidiNote(60, 0, 960), new MidiNote(64, 0, 480), new MidiNote(67, 480, 480) }, roll.Single().Notes);
        var voices = PianoRoll.VoiceTracks(new[] { new[] { 72, 67, 64, 48 }, new[] { 72, 65, 62, 47 } }, 120);
        Assert.Equal(new[] { "Soprano", "Alto", "Tenor", "Bass" }, voices.Select(t => t.Name));
        Assert.Equal(new[] { 0, 1, 2, 3 }, voices.Select(t => t.Channel));
        Assert.Single(voices[0].Notes);
        Assert.Equal(2, voices[3].Notes.Count);
    }

    [Fact]
    public void PianoRollPictureHasNotesWherePitchesSound()
    {
        using var pic = PianoRoll.Picture(new[] { new[] { 84, 60, 50, 36 }, new[] { -1, 60, 50, 36 } }, voices: true, stepsPerBar: 0);
        Assert.Equal(new long[] { 3, 49, 2 }, pic.shape);
        using var lit = pic.sum(new long[] { 0 }).gt(0);                                 // (pitches, steps)
        Assert.True(lit[0, 0].item<bool>());                              // the soprano's 84 at the top row
        Assert.False(lit[0, 1].item<bool>());                             // silent soprano
        Assert.True(lit[48, 1].item<bool>());                             // the bass's 36 at the bottom row
        Assert.Equal(7, lit.sum().item<long>());
        Assert.True(pic[0, 0, 0].item<float>() > pic[2, 0, 0].item<float>()); // soprano red
        Assert.True(pic[2, 48, 0].item<float>() > pic[0, 48, 0].item<float>()); // bass blue
    }

    [Fact]
    public void FluidSynthRendersA440AsA440()
    {
        Assert.True(MidiRenderer.Available, "fluidsynth and fluid-soundfont-gm are test dependencies (.ci/run installs them)");
        var mid = Path.Combine(_dir, "a4.mid");
        // One A4 (MIDI 69, 440 Hz) for two quarters at 60 bpm = 2 s, on a flute (program 73: few overtones).
        MidiFile.Write(mid, new[] { new MidiTrack("A4", 0, 73, new[] { new MidiNote(69, 0, 960) }) }, 480, 60);
        var wave = MidiRenderer.Render(mid, sampleRate: 16000);
        Assert.InRange(wave.Seconds, 1.9, 8.0);                            // the note plus the release tail
        using var x = wave.ToTensor().narrow(0, 4000, 16000);              // 1 s from 0.25 s: the note sounding
        using var spectrum = torch.fft.rfft(x).abs();                      // bin k = k Hz
        long peak = spectrum.argmax().item<long>();
        Assert.InRange(peak, 436, 444);
        using var rms = x.square().mean().sqrt();
        Assert.True(rms.item<float>() > 0.01f);
    }

    [Fact]
    public void RenderingNeedsAFile()
    {
        var e = Assert.Throws<GenSharpException>(() => MidiRenderer.Render(Path.Combine(_dir, "none.mid")));
        Assert.Contains("not found", e.Message);
    }
}
