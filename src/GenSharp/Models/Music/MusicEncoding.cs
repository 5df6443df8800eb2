namespace GenSharp.Models.Music;

/// <summary>Which form of the chorales a music model reads, and so what its tokens are.</summary>
public enum MusicEncoding
{
    /// <summary>The 16th-note four-voice form: per step the soprano, alto, tenor and bass pitch (or a rest), four tokens.</summary>
    Satb16,
    /// <summary>The quarter-note piano roll: per step the sounding pitches in ascending order, then an end-of-step token.</summary>
    Roll,
}
