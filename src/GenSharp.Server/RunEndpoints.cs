using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// A read-only view of training run folders for the playground's training page: every folder directly under the
/// models folder that holds a <c>metrics.jsonl</c> is a run, named by its folder.
/// <c>GET /v1/gensharp/runs</c>, <c>GET /v1/gensharp/runs/{name}/metrics</c> (the parsed rows),
/// <c>GET /v1/gensharp/runs/{name}/samples</c> (the PNG files in <c>samples/</c>) and
/// <c>GET /v1/gensharp/runs/{name}/samples/{file}</c>. Names cannot escape the folder (as model names).
/// </summary>
static class RunEndpoints
{
    const string Metrics = "metrics.jsonl";
    const string Samples = "samples";

    public static void Map(WebApplication app, string modelsDir)
    {
        string root = Path.GetFullPath(modelsDir).TrimEnd(Path.DirectorySeparatorChar);
        app.MapGet("/v1/gensharp/runs", (HttpContext http) => ListRuns(http, root));
        app.MapGet("/v1/gensharp/runs/{name}/metrics", (HttpContext http, string name) => GetMetrics(http, root, name));
        app.MapGet("/v1/gensharp/runs/{name}/samples", (HttpContext http, string name) => ListSamples(http, root, name));
        app.MapGet("/v1/gensharp/runs/{name}/samples/{file}", (HttpContext http, string name, string file) => GetSample(http, root, name, file));
    }

    /// <summary>Refuses a name that is not a plain file or folder name: it could escape the folder it names a child of.</summary>
    static void CheckName(string param, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains("..") || name.IndexOfAny(new[] { '/', '\\', '\0', ':' }) >= 0 || name.Any(char.IsControl))
            throw ApiException.Invalid(param, $"'{name}' is not a {param} name: names are plain folder or file names, without separators or '..'", $"invalid_{param}_name");
    }

    /// <summary>The folder of run <paramref name="name"/>: 400 for a name that could escape, 404 for no such run.</summary>
    static string Resolve(string root, string name)
    {
        CheckName("run", name);
        var dir = Path.GetFullPath(Path.Combine(root, name));
        if (Path.GetDirectoryName(dir) != root || !File.Exists(Path.Combine(dir, Metrics)))
            throw new ApiException(404, $"the run '{name}' does not exist; GET /v1/gensharp/runs lists the runs", "run", "run_not_found");
        return dir;
    }

    static Task ListRuns(HttpContext http, string root)
    {
        var runs = Directory.EnumerateDirectories(root)
            .Where(d => File.Exists(Path.Combine(d, Metrics)))
            .OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal)
            .Select(d => (JsonNode)new JsonObject
            {
                ["name"] = Path.GetFileName(d),
                ["updated"] = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(d, Metrics)), TimeSpan.Zero).ToUnixTimeSeconds(),
                ["samples"] = SampleFiles(d).Length,
            });
        return Write(http, new JsonObject { ["object"] = "list", ["data"] = new JsonArray(runs.ToArray()) });
    }

    /// <summary>The rows of metrics.jsonl in order; a line that does not parse (the trainer may be writing it) is skipped.</summary>
    static async Task GetMetrics(HttpContext http, string root, string name)
    {
        var path = Path.Combine(Resolve(root, name), Metrics);
        var rows = new JsonArray();
        // The trainer appends while we read: share the file for writing.
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        while (await reader.ReadLineAsync(http.RequestAborted) is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                if (JsonNode.Parse(line) is JsonObject row) rows.Add(row);
            }
            catch (JsonException) { }
        }
        await Write(http, new JsonObject { ["object"] = "list", ["run"] = name, ["data"] = rows });
    }

    static string[] SampleFiles(string runDir)
    {
        var dir = Path.Combine(runDir, Samples);
        if (!Directory.Exists(dir)) return Array.Empty<string>();
        return Directory.EnumerateFiles(dir, "*.png").Select(Path.GetFileName).OrderBy(f => f, StringComparer.Ordinal).ToArray()!;
    }

    static Task ListSamples(HttpContext http, string root, string name)
    {
        var dir = Resolve(root, name);
        var data = SampleFiles(dir).Select(f => (JsonNode)new JsonObject
        {
            ["file"] = f,
            ["url"] = $"/v1/gensharp/runs/{Uri.EscapeDataString(name)}/samples/{Uri.EscapeDataString(f)}",
            ["modified"] = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(dir, Samples, f)), TimeSpan.Zero).ToUnixTimeSeconds(),
        });
        return Write(http, new JsonObject { ["object"] = "list", ["run"] = name, ["data"] = new JsonArray(data.ToArray()) });
    }

    static async Task GetSample(HttpContext http, string root, string name, string file)
    {
        var dir = Path.Combine(Resolve(root, name), Samples);
        CheckName("file", file);
        var path = Path.GetFullPath(Path.Combine(dir, file));
        if (!file.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || Path.GetDirectoryName(path) != dir || !File.Exists(path))
            throw new ApiException(404, $"the run '{name}' has no sample '{file}'; GET /v1/gensharp/runs/{name}/samples lists them", "file", "sample_not_found");
        http.Response.ContentType = "image/png";
        http.Response.Headers.CacheControl = "no-cache";
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        await stream.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    static Task Write(HttpContext http, JsonObject body)
    {
        // Polled while training runs: never from a cache.
        http.Response.Headers.CacheControl = "no-store";
        return TextEndpoints.WriteJson(http, 200, body);
    }
}
