using System.Diagnostics;
using System.Text;

namespace GenSharp.Rag;

/// <summary>How a chunk's span counts: lines of the source file, or pages of a PDF.</summary>
public enum SpanUnit
{
    /// <summary>1-based lines of the file (text, Markdown, and the HTML source's lines).</summary>
    Line,
    /// <summary>1-based pages (PDF).</summary>
    Page,
}

/// <summary>
/// A document as text lines ready for <see cref="TextChunker"/>, with, for each line, the place in the source file it
/// comes from (a line of the file, or a page). Text and Markdown are read as they are; HTML through
/// <see cref="HtmlText"/>; PDF through poppler's <c>pdftotext</c> (Debian package poppler-utils), whose form feeds
/// separate pages.
/// </summary>
public sealed record SourceDocument(IReadOnlyList<string> Lines, IReadOnlyList<int> Places, SpanUnit Unit)
{
    /// <summary>Extensions read as plain text or Markdown.</summary>
    public static readonly string[] TextExtensions = { ".txt", ".md", ".markdown", ".rst" };
    /// <summary>Extensions read as HTML.</summary>
    public static readonly string[] HtmlExtensions = { ".html", ".htm", ".xhtml" };
    /// <summary>Extensions read as PDF.</summary>
    public static readonly string[] PdfExtensions = { ".pdf" };

    /// <summary>Whether a file name has an extension <see cref="Read"/> knows.</summary>
    public static bool Knows(string path)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        return TextExtensions.Contains(ext) || HtmlExtensions.Contains(ext) || PdfExtensions.Contains(ext);
    }

    /// <summary>
    /// The document in <paramref name="bytes"/> (the content of <paramref name="path"/>), or the reason it cannot be
    /// read (binary, not UTF-8, not a PDF pdftotext reads, pdftotext missing).
    /// </summary>
    public static (SourceDocument? Document, string? Why) Read(string path, byte[] bytes)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (PdfExtensions.Contains(ext)) return ReadPdf(path);
        if (Array.IndexOf(bytes, (byte)0) >= 0) return (null, "binary (NUL bytes)");
        string text;
        try { text = new UTF8Encoding(false, true).GetString(bytes); }
        catch (DecoderFallbackException) { return (null, "not UTF-8"); }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (HtmlExtensions.Contains(ext))
        {
            var (lines, sources) = HtmlText.Extract(text);
            return (new SourceDocument(lines, sources, SpanUnit.Line), null);
        }
        var all = text.Replace("\r\n", "\n").Split('\n');
        return (new SourceDocument(all, Enumerable.Range(1, all.Length).ToArray(), SpanUnit.Line), null);
    }

    /// <summary>The text of a PDF by <c>pdftotext -enc UTF-8 FILE -</c>, each line with its page.</summary>
    public static (SourceDocument? Document, string? Why) ReadPdf(string path)
    {
        var psi = new ProcessStartInfo("pdftotext") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, StandardOutputEncoding = Encoding.UTF8 };
        foreach (var a in new[] { "-enc", "UTF-8", path, "-" }) psi.ArgumentList.Add(a);
        Process? p;
        try { p = Process.Start(psi); }
        catch (System.ComponentModel.Win32Exception) { return (null, "pdftotext not found (install poppler-utils)"); }
        if (p is null) return (null, "pdftotext did not start");
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                return (null, "pdftotext: " + (err.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? $"exit code {p.ExitCode}"));
            var lines = new List<string>();
            var pages = new List<int>();
            var byPage = output.Replace("\r\n", "\n").Split('\f');
            for (int page = 0; page < byPage.Length; page++)
            {
                if (page == byPage.Length - 1 && byPage[page].Trim().Length == 0) break;   // after the last page's form feed
                foreach (var line in byPage[page].Split('\n'))
                {
                    lines.Add(line);
                    pages.Add(page + 1);
                }
                lines.Add(""); pages.Add(page + 1);                                          // a page end ends a paragraph
            }
            return (new SourceDocument(lines, pages, SpanUnit.Page), null);
        }
    }

    /// <summary>The chunks of this document, spans given in the source's own places (its lines or pages).</summary>
    public List<Chunk> Chunks(string source, TextChunker chunker) =>
        chunker.Split(source, string.Join("\n", Lines))
            .Select(c => c with { StartLine = Places[c.StartLine - 1], EndLine = Places[c.EndLine - 1], Unit = Unit })
            .ToList();
}
