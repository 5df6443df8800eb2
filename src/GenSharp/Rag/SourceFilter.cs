using System.Text;
using System.Text.RegularExpressions;

namespace GenSharp.Rag;

/// <summary>
/// A metadata filter on the chunks a question may retrieve: source path globs (<c>*</c> any characters but '/',
/// <c>**</c> any characters, <c>?</c> one character; matched against the whole source path as ingest recorded it,
/// relative to the ingested folder) and/or a heading substring (case-insensitive). A chunk passes when its source
/// matches any of the globs (or none were given) and its heading contains the text (or none was given).
/// </summary>
public sealed class SourceFilter
{
    readonly Regex[] _globs;
    readonly string? _heading;

    /// <summary>The globs and heading text this filter was made from, for messages.</summary>
    public string Description { get; }

    /// <param name="globs">Source path globs; empty = every source.</param>
    /// <param name="heading">Heading substring, or null.</param>
    public SourceFilter(IReadOnlyList<string> globs, string? heading = null)
    {
        foreach (var g in globs)
            if (string.IsNullOrWhiteSpace(g)) throw new GenSharpException("a source filter must not be empty; give a path glob such as 'library/*.html'");
        _globs = globs.Select(ToRegex).ToArray();
        _heading = string.IsNullOrWhiteSpace(heading) ? null : heading.Trim();
        Description = string.Join(" or ", globs.Select(g => $"source {g}")) + (_heading is null ? "" : $"{(globs.Count > 0 ? ", " : "")}heading containing \"{_heading}\"");
    }

    /// <summary>Whether a chunk passes.</summary>
    public bool Accepts(Chunk chunk) =>
        (_globs.Length == 0 || _globs.Any(g => g.IsMatch(chunk.Source))) &&
        (_heading is null || chunk.Heading.Contains(_heading, StringComparison.OrdinalIgnoreCase));

    static Regex ToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        for (int i = 0; i < glob.Length; i++)
        {
            char c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*') { sb.Append(".*"); i++; }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
