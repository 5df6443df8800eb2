namespace GenSharp.Rag;

/// <summary>A piece of a source document: its text, the heading it sits under, and where it is (1-based lines, inclusive).</summary>
public sealed record Chunk(string Source, int StartLine, int EndLine, string Heading, string Text)
{
    /// <summary>"path:12-30", how a citation names it.</summary>
    public string Span => StartLine == EndLine ? $"{Source}:{StartLine}" : $"{Source}:{StartLine}-{EndLine}";
}
