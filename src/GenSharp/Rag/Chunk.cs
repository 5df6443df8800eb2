namespace GenSharp.Rag;

/// <summary>
/// A piece of a source document: its text, the heading it sits under, and where it is: 1-based lines of the file,
/// inclusive (text, Markdown, HTML), or pages (PDF), as <paramref name="Unit"/> says.
/// </summary>
public sealed record Chunk(string Source, int StartLine, int EndLine, string Heading, string Text, SpanUnit Unit = SpanUnit.Line)
{
    /// <summary>"path:12-30" for lines, "path:p3-4" for pages: how a citation names it.</summary>
    public string Span
    {
        get
        {
            var p = Unit == SpanUnit.Page ? "p" : "";
            return StartLine == EndLine ? $"{Source}:{p}{StartLine}" : $"{Source}:{p}{StartLine}-{EndLine}";
        }
    }
}
