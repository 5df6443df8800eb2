namespace GenSharp.Media.Midi;

/// <summary>A track of a Standard MIDI File: a name, the channel (0–15) and General MIDI program (0–127) its notes play on, and the notes.</summary>
public sealed record MidiTrack(string Name, int Channel, int Program, IReadOnlyList<MidiNote> Notes);
