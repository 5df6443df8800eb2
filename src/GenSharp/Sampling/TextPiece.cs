namespace GenSharp.Sampling;

/// <summary>A piece of generated text for sequence <paramref name="Row"/> of a batch.</summary>
public sealed record TextPiece(int Row, string Text);
