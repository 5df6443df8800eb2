using System.Net;
using System.Text;

namespace GenSharp.Rag;

/// <summary>
/// The readable text of an HTML page as Markdown-like lines, each line remembering the line of the HTML file its text
/// starts on (so chunks cite the HTML source's lines). Headings become <c>#</c> lines (so <see cref="TextChunker"/>
/// cuts and names chunks by them), block elements end lines, <c>pre</c> keeps its line breaks, list items start with
/// "- ". Scripts, styles, the head, forms, navigation (<c>nav</c>, <c>role="navigation"</c> / search / banner) and
/// Sphinx's "¶" heading links are left out; when the page marks its main content (<c>main</c> or <c>role="main"</c>),
/// only that is kept.
/// </summary>
public static class HtmlText
{
    static readonly HashSet<string> Skipped = new(StringComparer.Ordinal)
        { "script", "style", "head", "nav", "noscript", "form", "footer", "header", "template", "svg", "button", "select", "iframe", "object", "textarea" };
    static readonly HashSet<string> Blocks = new(StringComparer.Ordinal)
        { "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "section", "article", "blockquote", "pre", "hr", "main", "aside",
          "figure", "figcaption", "caption", "body", "html", "h1", "h2", "h3", "h4", "h5", "h6", "thead", "tbody", "details", "summary", "address" };
    static readonly HashSet<string> Paragraphs = new(StringComparer.Ordinal)
        { "p", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "blockquote", "section", "dd" };
    static readonly HashSet<string> SkippedRoles = new(StringComparer.Ordinal) { "navigation", "search", "banner", "contentinfo" };
    static readonly HashSet<string> Void = new(StringComparer.Ordinal)
        { "br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr", "param" };

    /// <summary>The page's text lines and, for each, the 1-based line of the HTML it comes from.</summary>
    public static (List<string> Lines, List<int> SourceLines) Extract(string html)
    {
        var lineStarts = new List<int> { 0 };
        for (int n = 0; n < html.Length; n++) if (html[n] == '\n') lineStarts.Add(n + 1);
        int LineOf(int offset) { int k = lineStarts.BinarySearch(offset); return (k >= 0 ? k : ~k - 1) + 1; }

        bool hasMain = html.Contains("role=\"main\"", StringComparison.OrdinalIgnoreCase) || html.Contains("<main", StringComparison.OrdinalIgnoreCase);
        var lines = new List<string>();
        var sources = new List<int>();
        var current = new StringBuilder();
        int currentSource = 0, lastSource = 1;
        string? skipTag = null; int skipDepth = 0;          // inside a left-out element: its name and nesting
        string? mainTag = null; int mainDepth = 0;          // inside the main content: its name and nesting
        int pre = 0;
        string prefix = "";

        bool Emitting() => skipTag is null && (!hasMain || mainTag is not null);

        void EndLine()
        {
            var text = current.ToString().TrimEnd();
            current.Clear();
            if (text.Trim().Length > 0)
            {
                // A text line that looks like a Markdown heading is indented so the chunker reads it as text.
                if (prefix.Length == 0 && text.TrimStart().StartsWith('#')) text = "    " + text;
                lines.Add(prefix + text);
                sources.Add(currentSource);
                lastSource = currentSource;
            }
            prefix = "";
        }

        void BlankLine()
        {
            EndLine();
            if (lines.Count > 0 && lines[^1].Length > 0) { lines.Add(""); sources.Add(lastSource); }
        }

        void AddText(string raw, int offset)
        {
            if (!Emitting()) return;
            var text = WebUtility.HtmlDecode(raw);
            if (pre > 0)
            {
                var parts = text.Replace("\r\n", "\n").Split('\n');
                int rawAt = 0;   // where part p starts in the raw text (entities never hold line breaks)
                for (int p = 0; p < parts.Length; p++)
                {
                    if (p > 0)
                    {
                        rawAt = raw.IndexOf('\n', rawAt) + 1;
                        if (current.Length == 0) { lines.Add(""); sources.Add(LineOf(offset + rawAt - 1)); } else EndLine();
                    }
                    if (parts[p].Length > 0)
                    {
                        if (current.Length == 0) currentSource = LineOf(offset + rawAt);
                        current.Append(parts[p]);
                    }
                }
                return;
            }
            int first = 0;
            while (first < raw.Length && char.IsWhiteSpace(raw[first])) first++;
            var collapsed = new StringBuilder();
            bool space = false;
            foreach (var ch in text)
            {
                if (char.IsWhiteSpace(ch)) { space = true; continue; }
                if (space && (collapsed.Length > 0 || current.Length > 0)) collapsed.Append(' ');
                space = false;
                collapsed.Append(ch);
            }
            if (space && (collapsed.Length > 0 || current.Length > 0)) collapsed.Append(' ');
            if (collapsed.ToString().Trim().Length == 0) { if (current.Length > 0 && collapsed.Length > 0 && current[^1] != ' ') current.Append(' '); return; }
            if (current.ToString().Trim().Length == 0) { current.Clear(); currentSource = LineOf(offset + first); if (collapsed[0] == ' ') collapsed.Remove(0, 1); }
            else if (current[^1] == ' ' && collapsed[0] == ' ') collapsed.Remove(0, 1);
            current.Append(collapsed);
        }

        int i = 0;
        while (i < html.Length)
        {
            int lt = html.IndexOf('<', i);
            if (lt < 0) { AddText(html[i..], i); break; }
            if (lt > i) AddText(html[i..lt], i);
            i = lt;
            if (string.CompareOrdinal(html, i, "<!--", 0, 4) == 0)
            {
                int end = html.IndexOf("-->", i + 4, StringComparison.Ordinal);
                i = end < 0 ? html.Length : end + 3;
                continue;
            }
            if (i + 1 < html.Length && (html[i + 1] == '!' || html[i + 1] == '?'))
            {
                int end = html.IndexOf('>', i);
                i = end < 0 ? html.Length : end + 1;
                continue;
            }
            bool closing = i + 1 < html.Length && html[i + 1] == '/';
            int nameStart = i + (closing ? 2 : 1), nameEnd = nameStart;
            while (nameEnd < html.Length && (char.IsLetterOrDigit(html[nameEnd]) || html[nameEnd] == '-')) nameEnd++;
            if (nameEnd == nameStart || nameEnd >= html.Length || !char.IsLetter(html[nameStart])) { AddText("<", i); i++; continue; }
            var name = html[nameStart..nameEnd].ToLowerInvariant();
            // The tag's end: the first '>' outside quotes.
            int j = nameEnd; char quote = '\0';
            for (; j < html.Length; j++)
            {
                char c = html[j];
                if (quote != '\0') { if (c == quote) quote = '\0'; }
                else if (c == '"' || c == '\'') quote = c;
                else if (c == '>') break;
            }
            var attributes = html[nameEnd..Math.Min(j, html.Length)];
            i = Math.Min(j + 1, html.Length);
            bool selfClosing = attributes.EndsWith('/') || Void.Contains(name);

            if (!closing && (name == "script" || name == "style"))
            {
                int end = html.IndexOf("</" + name, i, StringComparison.OrdinalIgnoreCase);
                i = end < 0 ? html.Length : end;
                continue;
            }
            if (skipTag is not null)
            {
                if (name == skipTag && !selfClosing) skipDepth += closing ? -1 : 1;
                if (skipDepth == 0) skipTag = null;
                continue;
            }
            if (mainTag is not null && name == mainTag && !selfClosing)
            {
                mainDepth += closing ? -1 : 1;
                if (mainDepth == 0) { BlankLine(); mainTag = null; continue; }
            }
            if (!closing && !selfClosing && (Skipped.Contains(name) || SkipsByAttributes(attributes)))
            {
                skipTag = name; skipDepth = 1;
                continue;
            }
            if (!closing && hasMain && mainTag is null && !selfClosing && (name == "main" || Attribute(attributes, "role") == "main"))
            {
                mainTag = name; mainDepth = 1;
                continue;
            }
            if (!Emitting()) continue;
            if (name == "pre") { BlankLine(); pre = Math.Max(0, pre + (closing ? -1 : 1)); continue; }
            if (name.Length == 2 && name[0] == 'h' && name[1] is >= '1' and <= '6')
            {
                BlankLine();
                if (!closing) prefix = new string('#', name[1] - '0') + " ";
                continue;
            }
            if (Blocks.Contains(name))
            {
                if (Paragraphs.Contains(name)) BlankLine(); else EndLine();
                if (!closing && name == "li") prefix = "- ";
                continue;
            }
            if (name is "td" or "th" && !closing && current.Length > 0) current.Append(" | ");
        }
        EndLine();
        while (lines.Count > 0 && lines[^1].Length == 0) { lines.RemoveAt(lines.Count - 1); sources.RemoveAt(sources.Count - 1); }
        return (lines, sources);
    }

    static bool SkipsByAttributes(string attributes)
    {
        if (attributes.Length == 0) return false;
        var role = Attribute(attributes, "role");
        if (role is not null && SkippedRoles.Contains(role)) return true;
        var cls = Attribute(attributes, "class");
        return cls is not null && cls.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("headerlink");
    }

    /// <summary>The value of attribute <paramref name="name"/> in a tag's attribute text (quoted or not), or null.</summary>
    static string? Attribute(string attributes, string name)
    {
        int at = 0;
        while ((at = attributes.IndexOf(name, at, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            bool startsWord = at == 0 || char.IsWhiteSpace(attributes[at - 1]);
            int k = at + name.Length;
            while (k < attributes.Length && char.IsWhiteSpace(attributes[k])) k++;
            if (startsWord && k < attributes.Length && attributes[k] == '=')
            {
                k++;
                while (k < attributes.Length && char.IsWhiteSpace(attributes[k])) k++;
                if (k < attributes.Length && attributes[k] is '"' or '\'')
                {
                    int end = attributes.IndexOf(attributes[k], k + 1);
                    return end < 0 ? attributes[(k + 1)..] : attributes[(k + 1)..end];
                }
                int stop = k;
                while (stop < attributes.Length && !char.IsWhiteSpace(attributes[stop]) && attributes[stop] != '/') stop++;
                return attributes[k..stop];
            }
            at += name.Length;
        }
        return null;
    }
}
