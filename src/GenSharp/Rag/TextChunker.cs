using System.Text.RegularExpressions;

namespace GenSharp.Rag;

/// <summary>
/// Cuts text or Markdown into chunks of at most a token budget: a Markdown heading (<c>#</c> … <c>######</c>) always
/// starts a new chunk and names the chunks under it; inside a section, lines are packed until the next would pass the
/// budget, a blank line ending a paragraph is a preferred cut, and a line longer than the budget is cut at sentence ends
/// (then at words). Consecutive chunks of a section overlap by about <see cref="OverlapTokens"/> tokens of whole lines.
/// Each chunk keeps its 1-based line span.
/// </summary>
public sealed class TextChunker(Func<string, int> countTokens, int maxTokens = 256, int overlapTokens = 32)
{
    static readonly Regex Heading = new(@"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", RegexOptions.CultureInvariant);
    static readonly Regex SentenceEnd = new(@"(?<=[.!?])\s+", RegexOptions.CultureInvariant);

    /// <summary>Most tokens in a chunk.</summary>
    public int MaxTokens { get; } = maxTokens >= 8 ? maxTokens : throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "at least 8 tokens");
    /// <summary>Tokens repeated from the end of one chunk at the start of the next in the same section.</summary>
    public int OverlapTokens { get; } = overlapTokens >= 0 && overlapTokens < maxTokens / 2 ? overlapTokens
        : throw new ArgumentOutOfRangeException(nameof(overlapTokens), overlapTokens, "in [0, max_tokens / 2)");

    /// <summary>The chunks of <paramref name="text"/> from <paramref name="source"/>, in order.</summary>
    public List<Chunk> Split(string source, string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var result = new List<Chunk>();
        var pieces = new List<(int Line, string Text, int Tokens)>();   // the current chunk's lines (or line parts)
        string heading = "";
        int tokens = 0;

        void Flush(bool keepOverlap)
        {
            if (pieces.Count == 0) return;
            var body = string.Join("\n", pieces.Select(p => p.Text)).Trim();
            var filled = pieces.Where(p => p.Text.Length > 0).ToList();             // the span leaves out blank lines at either end
            if (body.Length > 0) result.Add(new Chunk(source, filled[0].Line, filled[^1].Line, heading, body));
            if (!keepOverlap || OverlapTokens == 0) { pieces.Clear(); tokens = 0; return; }
            // Keep whole trailing pieces up to the overlap budget.
            int kept = 0, from = pieces.Count;
            while (from > 0 && kept + pieces[from - 1].Tokens <= OverlapTokens) kept += pieces[--from].Tokens;
            pieces.RemoveRange(0, from);
            tokens = kept;
        }

        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var h = Heading.Match(line);
            if (h.Success)
            {
                Flush(keepOverlap: false);
                heading = h.Groups[1].Value;
                continue;
            }
            if (line.Trim().Length == 0)
            {
                if (pieces.Count > 0) pieces.Add((i + 1, "", 0));   // keep the paragraph break
                continue;
            }
            foreach (var part in Fit(line))
            {
                int n = countTokens(part);
                if (tokens + n > MaxTokens && pieces.Any(p => p.Tokens > 0)) Flush(keepOverlap: true);
                pieces.Add((i + 1, part, n));
                tokens += n;
            }
        }
        Flush(keepOverlap: false);
        return result;
    }

    /// <summary>A line as pieces within the budget: whole, or cut at sentence ends, or at words.</summary>
    IEnumerable<string> Fit(string line)
    {
        if (countTokens(line) <= MaxTokens) { yield return line; yield break; }
        var current = "";
        foreach (var sentence in SentenceEnd.Split(line))
            foreach (var word in countTokens(sentence) <= MaxTokens ? new[] { sentence } : sentence.Split(' '))
            {
                var joined = current.Length == 0 ? word : current + " " + word;
                if (countTokens(joined) > MaxTokens && current.Length > 0) { yield return current; current = word; }
                else current = joined;
            }
        if (current.Length > 0) yield return current;
    }
}
