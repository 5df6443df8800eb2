using System.Security.Cryptography;
using GenSharp.Models.Encoders;

namespace GenSharp.Rag;

/// <summary>
/// Ingests a folder into a RAG store (<see cref="IRagStore"/>: SQLite or PostgreSQL): every text or Markdown file (.txt, .md, .markdown, .rst), HTML
/// page (.html, .htm, .xhtml) and PDF (.pdf, through pdftotext) is read by <see cref="SourceDocument"/>, chunked and embedded; a file whose content hash is unchanged is left as it is, a changed one has exactly its chunks
/// replaced, a file that is gone is removed. Unreadable or binary files are skipped and listed, never fatal.
/// </summary>
public static class RagIngest
{
    /// <summary>What an ingest did.</summary>
    public sealed record Report(List<string> Added, List<string> Changed, List<string> Unchanged, List<string> Removed,
        List<(string Path, string Why)> Skipped, int Chunks, double Seconds);

    /// <summary>Ingests <paramref name="dir"/> (recursively); sources are stored by their path relative to it.</summary>
    /// <param name="dir">The folder to ingest.</param>
    /// <param name="store">The index: its sources are replaced, added or removed to match the folder.</param>
    /// <param name="encoder">Embeds the chunks; must be the index's own embedder.</param>
    /// <param name="chunker">Cuts each file's text into chunks.</param>
    /// <param name="progress">Told after each file: files done so far (of <see cref="CountFiles"/>) and the file's path.</param>
    public static Report Run(string dir, IRagStore store, SentenceEncoder encoder, TextChunker chunker, Training.IProgressReporter? progress = null)
    {
        if (!Directory.Exists(dir)) throw new ParameterException("dir", $"{dir}: folder not found");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = new Report(new(), new(), new(), new(), new(), 0, 0);
        int chunks = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int done = 0;
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(dir, file).Replace('\\', '/');
            progress?.Report(done++, rel);
            if (!SourceDocument.Knows(file)) { r.Skipped.Add((rel, "not a text, Markdown, HTML or PDF file")); continue; }
            byte[] bytes;
            try { bytes = File.ReadAllBytes(file); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { r.Skipped.Add((rel, "unreadable: " + e.Message)); continue; }
            var hash = Convert.ToHexString(SHA256.HashData(bytes));
            var old = store.FileHash(rel);
            if (old == hash) { seen.Add(rel); r.Unchanged.Add(rel); continue; }
            var (doc, why) = SourceDocument.Read(file, bytes);
            if (doc is null) { r.Skipped.Add((rel, why!)); continue; }
            seen.Add(rel);
            var pieces = doc.Chunks(rel, chunker);
            var vectors = pieces.Count == 0 ? new float[0][] : encoder.Embed(pieces.Select(p => string.IsNullOrEmpty(p.Heading) ? p.Text : p.Heading + "\n" + p.Text).ToList());
            store.ReplaceSource(rel, hash, pieces, vectors);
            chunks += pieces.Count;
            (old is null ? r.Added : r.Changed).Add(rel);
        }
        foreach (var gone in store.Sources().Where(s => !seen.Contains(s)))
        {
            store.RemoveSource(gone);
            r.Removed.Add(gone);
        }
        store.Flush();
        return r with { Chunks = chunks, Seconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>How many files <see cref="Run"/> looks at in <paramref name="dir"/> (the progress total).</summary>
    public static int CountFiles(string dir) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count() : 0;

    /// <summary>The store an index name means: the name itself when it ends in .sqlite, else NAME.rag.sqlite.</summary>
    public static string StorePath(string index) => index.EndsWith(".sqlite", StringComparison.OrdinalIgnoreCase) ? index : index + ".rag.sqlite";
}
