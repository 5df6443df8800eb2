namespace GenSharp.Rag;

/// <summary>A span of a source that answers a question: 1-based inclusive lines (or pages) of <paramref name="Path"/>, and the SHA-256 of the file the span was read from (empty when unknown).</summary>
public sealed record GoldSpan(string Path, int Start, int End, string Sha256 = "")
{
    /// <summary>Whether <paramref name="chunk"/> covers any line of this span.</summary>
    public bool Overlaps(Chunk chunk) => chunk.Source == Path && chunk.StartLine <= End && chunk.EndLine >= Start;
}
