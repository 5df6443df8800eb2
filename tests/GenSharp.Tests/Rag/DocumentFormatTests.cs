using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using GenSharp.Models.Encoders;
using GenSharp.Rag;
using GenSharp.Runtime;
using TorchSharp;
using Xunit;

namespace GenSharp.Tests;

/// <summary>HTML and PDF documents: their text, their spans (HTML source lines, PDF pages) and retrieval over them.</summary>
public class DocumentFormatTests
{
    /// <summary>Debian's python3-doc HTML (installed by .ci/run).</summary>
    public const string PythonDocs = "/usr/share/doc/python3-doc/html";

    [Fact]
    public void HtmlTextKeepsHeadingsAndPreLinesAndDropsScriptsNavigationAndHeaderLinks()
    {
        var html = """
            <!DOCTYPE html>
            <html><head><title>T</title><script>var x = "<p>not text</p>";</script><style>p { color: red }</style></head>
            <body>
            <nav><a href="/">Home</a> navigation words</nav>
            <div role="main">
            <h1>Caf&eacute; guide<a class="headerlink" href="#g">¶</a></h1>
            <p>First paragraph with
              a line break &amp; an entity.</p>
            <!-- a comment <p>hidden</p> -->
            <pre>line one
            # a comment line
            line &lt;three&gt;</pre>
            <ul><li>item one</li><li>item <b>two</b></li></ul>
            <h2>Second</h2><p>Tail text.</p>
            </div>
            <div class="footer">outside main</div>
            </body></html>
            """;
        var (lines, src) = HtmlText.Extract(html);
        var filled = lines.Where(l => l.Length > 0).ToList();
        Assert.Equal(new[] { "# Café guide", "First paragraph with a line break & an entity.", "line one", "    # a comment line", "line <three>",
            "- item one", "- item two", "## Second", "Tail text." }, filled);
        Assert.Equal(6, src[lines.IndexOf("# Café guide")]);
        Assert.Equal(7, src[lines.IndexOf("First paragraph with a line break & an entity.")]);
        Assert.Equal(10, src[lines.IndexOf("line one")]);
        Assert.Equal(11, src[lines.IndexOf("    # a comment line")]);
        Assert.Equal(12, src[lines.IndexOf("line <three>")]);
        Assert.Equal(14, src[lines.IndexOf("## Second")]);
    }

    [Fact]
    public void PythonDocsPageBecomesSectionsWhoseSpansAreTheHtmlLines()
    {
        var path = Path.Combine(PythonDocs, "library", "json.html");
        Assert.True(File.Exists(path), $"{path} missing: apt-get install python3-doc (.ci/run does)");
        var html = File.ReadAllText(path);
        var htmlLines = html.Split('\n');
        var (doc, why) = SourceDocument.Read(path, File.ReadAllBytes(path));
        Assert.Null(why);
        var text = string.Join("\n", doc!.Lines);
        Assert.StartsWith("# json — JSON encoder and decoder", text);
        Assert.DoesNotContain("¶", text);
        Assert.DoesNotContain("Previous topic", text);         // the sidebar
        Assert.DoesNotContain("Theme", text);                  // the navigation bar's theme switcher
        Assert.DoesNotContain("documentation_options", text);  // scripts
        // Each line's first word is on the HTML line it points at (tags stripped, entities decoded).
        for (int i = 0; i < doc.Lines.Count; i++)
        {
            var word = Regex.Match(doc.Lines[i], @"[\p{L}\p{N}]+");
            if (!word.Success) continue;
            var source = WebUtility.HtmlDecode(Regex.Replace(htmlLines[doc.Places[i] - 1], "<[^>]*>", ""));
            Assert.True(source.Contains(word.Value), $"line {i} '{doc.Lines[i]}' → HTML line {doc.Places[i]} '{htmlLines[doc.Places[i] - 1]}'");
        }
        var chunks = doc.Chunks("library/json.html", new TextChunker(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, 120, 16));
        Assert.Contains(chunks, c => c.Heading == "Basic Usage");
        Assert.Contains(chunks, c => c.Heading == "Command Line Interface");
        Assert.All(chunks, c => Assert.InRange(c.StartLine, 1, c.EndLine));
        Assert.All(chunks, c => Assert.InRange(c.EndLine, c.StartLine, htmlLines.Length));
        var usage = chunks.First(c => c.Heading == "Basic Usage");
        Assert.Contains("Basic Usage", string.Join("\n", htmlLines[(usage.StartLine - 5)..usage.StartLine]));
    }

    [Fact]
    public void PdfPagesBecomePageSpansAndABrokenPdfIsSkipped()
    {
        var dir = TestData.TempDir();
        var pdf = Path.Combine(dir, "two.pdf");
        File.WriteAllBytes(pdf, MiniPdf(new[] { "Lighthouses guide ships at night.", "They stand on rocky coasts." },
                                        new[] { "Sourdough bread rises slowly.", "A starter feeds on flour and water." }));
        var (doc, why) = SourceDocument.Read(pdf, File.ReadAllBytes(pdf));
        Assert.True(doc is not null, why);
        Assert.Equal(SpanUnit.Page, doc!.Unit);
        int bread = doc.Lines.ToList().FindIndex(l => l.Contains("Sourdough"));
        Assert.Equal(2, doc.Places[bread]);
        Assert.Equal(1, doc.Places[doc.Lines.ToList().FindIndex(l => l.Contains("Lighthouses"))]);
        var chunks = doc.Chunks("two.pdf", new TextChunker(s => s.Split(' ').Length, 8, 0));
        Assert.Contains(chunks, c => c.Text.Contains("Sourdough") && c.Span == "two.pdf:p2");
        Assert.Contains(chunks, c => c.Text.Contains("Lighthouses") && c.Span == "two.pdf:p1");
        File.WriteAllText(Path.Combine(dir, "broken.pdf"), "this is not a PDF at all");
        var (none, reason) = SourceDocument.Read(Path.Combine(dir, "broken.pdf"), Array.Empty<byte>());
        Assert.Null(none);
        Assert.StartsWith("pdftotext:", reason);
    }

    [Fact]
    public void IngestOfHtmlAndPdfRetrievesAndCitesTheirSpans()
    {
        TorchRuntime.EnsureReady();
        var dir = TestData.TempDir();
        foreach (var page in new[] { "json.html", "csv.html", "zipfile.html" })
            File.Copy(Path.Combine(PythonDocs, "library", page), Path.Combine(dir, page));
        File.WriteAllBytes(Path.Combine(dir, "bread.pdf"), MiniPdf(new[] { "Lighthouses guide ships at night along rocky coasts." },
                                                                  new[] { "Sourdough bread rises slowly because a starter of wild yeast feeds on flour and water." }));
        File.WriteAllText(Path.Combine(dir, "broken.pdf"), "not a pdf");
        var index = Path.Combine(TestData.TempDir(), "mixed.rag.sqlite");
        using var encoder = SentenceEncoders.MiniLm(torch.CPU);
        using var store = SqliteRagStore.Open(index, encoder.Name, encoder.Dimensions);
        var r = RagIngest.Run(dir, store, encoder, new TextChunker(encoder.Tokenizer.CountTokens, 200, 32));
        Assert.Equal(4, r.Added.Count);
        Assert.Contains(r.Skipped, s => s.Path == "broken.pdf" && s.Why.StartsWith("pdftotext:"));
        var retriever = new HybridRetriever(store, encoder);
        var bread = retriever.Retrieve("Why does sourdough bread rise slowly?", 3).Chunks[0].Chunk;
        Assert.Equal(("bread.pdf", SpanUnit.Page), (bread.Source, bread.Unit));   // both short pages fit one chunk: "bread.pdf:p1-2"
        Assert.Equal(2, bread.EndLine);
        var json = retriever.Retrieve("How do I serialize a Python object to a JSON formatted string?", 3).Chunks[0].Chunk;
        Assert.Equal("json.html", json.Source);
        Assert.Equal("csv.html", retriever.Retrieve("How do I read rows from a comma separated values file?", 3).Chunks[0].Chunk.Source);
        Assert.Equal("zipfile.html", retriever.Retrieve("How can I extract all members of a ZIP archive?", 3).Chunks[0].Chunk.Source);
        // The HTML span holds the chunk's first word.
        var lines = File.ReadAllLines(Path.Combine(dir, "json.html"));
        var first = Regex.Match(json.Text, @"[\p{L}\p{N}]+").Value;
        Assert.Contains(first, WebUtility.HtmlDecode(Regex.Replace(string.Join("\n", lines[(json.StartLine - 1)..json.EndLine]), "<[^>]*>", "")));
    }

    /// <summary>A minimal PDF (Helvetica, one text line per string) with one page per array, offsets computed.</summary>
    public static byte[] MiniPdf(params string[][] pages)
    {
        var objects = new List<string> { "<< /Type /Catalog /Pages 2 0 R >>", "" };
        int font = 3;
        objects.Add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
        var kids = new List<int>();
        foreach (var page in pages)
        {
            var content = new StringBuilder("BT /F1 12 Tf 72 720 Td");
            foreach (var line in page) content.Append($" ({line.Replace("\\", "\\\\").Replace("(", "\\(").Replace(")", "\\)")}) Tj 0 -18 Td");
            content.Append(" ET");
            objects.Add($"<< /Length {content.Length} >>\nstream\n{content}\nendstream");
            int contentId = objects.Count;
            objects.Add($"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R >> >> /Contents {contentId} 0 R >>");
            kids.Add(objects.Count);
        }
        objects[1] = $"<< /Type /Pages /Kids [{string.Join(" ", kids.Select(k => $"{k} 0 R"))}] /Count {kids.Count} >>";
        var sb = new StringBuilder("%PDF-1.4\n");
        var offsets = new List<int>();
        for (int i = 0; i < objects.Count; i++)
        {
            offsets.Add(sb.Length);
            sb.Append($"{i + 1} 0 obj\n{objects[i]}\nendobj\n");
        }
        int xref = sb.Length;
        sb.Append($"xref\n0 {objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var o in offsets) sb.Append($"{o:D10} 00000 n \n");
        sb.Append($"trailer\n<< /Size {objects.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
