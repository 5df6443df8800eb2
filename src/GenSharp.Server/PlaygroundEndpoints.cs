using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// The web playground: plain HTML, CSS and JavaScript modules from <c>wwwroot/</c>, embedded in this assembly (no
/// build step, nothing to copy). <c>GET /</c> is the page; <c>GET /static/{file}</c> its scripts and style sheet.
/// </summary>
static class PlaygroundEndpoints
{
    const string Prefix = "wwwroot/";

    static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    /// <summary>Maps the page, its files and the read-only run-folder API (<see cref="RunEndpoints"/>).</summary>
    public static void Map(WebApplication app, string modelsDir)
    {
        var files = LoadFiles();
        app.MapGet("/", (HttpContext http) => Serve(http, files, "index.html"));
        app.MapGet("/static/{file}", (HttpContext http, string file) => Serve(http, files, file));
        RunEndpoints.Map(app, modelsDir);
    }

    /// <summary>The embedded files by name (e.g. <c>chat.js</c>), read once.</summary>
    static Dictionary<string, byte[]> LoadFiles()
    {
        var assembly = typeof(PlaygroundEndpoints).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[Prefix.Length..]] = copy.ToArray();
        }
        return files;
    }

    static async Task Serve(HttpContext http, Dictionary<string, byte[]> files, string file)
    {
        if (!files.TryGetValue(file, out var bytes) || !ContentTypes.TryGetValue(Path.GetExtension(file), out var type))
            throw new ApiException(404, $"the playground has no file '{file}'", code: "unknown_url");
        http.Response.ContentType = type;
        // Small files that change with the server build: let the browser revalidate rather than keep stale scripts.
        http.Response.Headers.CacheControl = "no-cache";
        await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
    }
}
