using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Rag;

/// <summary>
/// One question of a RAG evaluation set: its text, and either the spans that answer it or none
/// (<paramref name="Answerable"/> false: the collection does not hold the answer, and "not found" is the right reply).
/// </summary>
public sealed record RagQuestion(string Id, string Question, bool Answerable, IReadOnlyList<GoldSpan> Gold)
{
    /// <summary>
    /// Reads a JSON-lines set: one object per line with <c>id</c>, <c>question</c>, <c>answerable</c> (default true) and
    /// <c>gold</c>: a list of <c>{path, start, end[, sha256]}</c>, non-empty when answerable. Blank lines are skipped;
    /// a bad line fails with its line number.
    /// </summary>
    public static List<RagQuestion> Load(string path)
    {
        if (!File.Exists(path)) throw new GenSharpException($"{path}: QA file not found");
        var items = new List<RagQuestion>();
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { items.Add(Parse(line, n)); }
            catch (JsonException e) { throw new GenSharpException($"{path}:{n}: not a JSON object ({e.Message.Split('.')[0]})"); }
            catch (InvalidOperationException e) { throw new GenSharpException($"{path}:{n}: {e.Message}"); }
        }
        if (items.Count == 0) throw new GenSharpException($"{path}: no questions in it");
        var twice = items.GroupBy(q => q.Id).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw new GenSharpException($"{path}: the id '{twice.Key}' is used more than once");
        return items;
    }

    static RagQuestion Parse(string line, int n)
    {
        var o = JsonNode.Parse(line) as JsonObject ?? throw new InvalidOperationException("each line must be a JSON object");
        string Text(string key) => o[key]?.GetValue<string>() is { Length: > 0 } s ? s : throw new InvalidOperationException($"'{key}' is missing or empty");
        var answerable = o["answerable"]?.GetValue<bool>() ?? true;
        var gold = new List<GoldSpan>();
        if (o["gold"] is JsonArray spans)
            foreach (var g in spans)
            {
                if (g is not JsonObject s) throw new InvalidOperationException("'gold' must hold objects {path, start, end}");
                int start = s["start"]?.GetValue<int>() ?? throw new InvalidOperationException("a gold span has no 'start'");
                int end = s["end"]?.GetValue<int>() ?? throw new InvalidOperationException("a gold span has no 'end'");
                if (start < 1 || end < start) throw new InvalidOperationException($"a gold span must have 1 ≤ start ≤ end, got {start}-{end}");
                gold.Add(new GoldSpan(s["path"]?.GetValue<string>() ?? throw new InvalidOperationException("a gold span has no 'path'"), start, end,
                                      s["sha256"]?.GetValue<string>() ?? ""));
            }
        if (answerable && gold.Count == 0) throw new InvalidOperationException("an answerable question needs at least one gold span");
        if (!answerable && gold.Count > 0) throw new InvalidOperationException("an unanswerable question has no gold spans");
        return new RagQuestion(o["id"]?.ToString() is { Length: > 0 } id ? id : $"line{n}", Text("question"), answerable, gold);
    }
}
