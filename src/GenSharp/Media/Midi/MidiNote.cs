namespace GenSharp.Media.Midi;

/// <summary>One note: MIDI pitch 0–127, start and length in ticks, velocity 1–127.</summary>
public readonly record struct MidiNote(int Pitch, long Start, long Duration, int Velocity = 80);
