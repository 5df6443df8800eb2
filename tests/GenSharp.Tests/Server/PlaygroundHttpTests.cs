using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Xunit;

namespace GenSharp.Tests;

/// <summary>The playground's static files and its read-only run-folder API over HTTP, with path-escape attempts.</summary>
[Collection("Server")]
public class PlaygroundHttpTests(ServerFixture f)
{
    static void AssertError(HttpStatusCode expected, HttpResponseMessage r, string body)
    {
        Assert.Equal(expected, r.StatusCode);
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
    }

    [Fact]
    public async Task IndexIsHtmlAndEveryModuleItLoadsIsServedAsJavaScript()
    {
        using var index = await f.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType!.MediaType);
        var html = await index.Content.ReadAsStringAsync();
        // Follow the page's references: its style sheet, its entry module and, transitively, every module imported.
        var css = Regex.Match(html, "href=\"(/static/[^\"]+\\.css)\"").Groups[1].Value;
        using (var r = await f.Http.GetAsync(css))
        {
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("text/css", r.Content.Headers.ContentType!.MediaType);
        }
        var pending = new Queue<string>(Regex.Matches(html, "src=\"/static/([^\"]+\\.js)\"").Select(m => m.Groups[1].Value));
        var seen = new HashSet<string>();
        while (pending.TryDequeue(out var file))
        {
            if (!seen.Add(file)) continue;
            using var r = await f.Http.GetAsync("/static/" + file);
            Assert.True(r.StatusCode == HttpStatusCode.OK, file);
            Assert.Equal("text/javascript", r.Content.Headers.ContentType!.MediaType);
            foreach (Match m in Regex.Matches(await r.Content.ReadAsStringAsync(), @"from '\./([\w.-]+\.js)'")) pending.Enqueue(m.Groups[1].Value);
        }
        Assert.Superset(new HashSet<string> { "app.js", "api.js", "chat.js", "images.js", "training.js" }, seen);
    }

    [Theory]
    [InlineData("/static/nope.js")]
    [InlineData("/static/index.htm")]
    [InlineData("/static/..%2F..%2Fetc%2Fpasswd")]
    public async Task UnknownStaticFilesAre404InTheErrorShape(string path)
    {
        using var r = await f.Http.GetAsync(path);
        AssertError(HttpStatusCode.NotFound, r, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RunsAreTheFoldersWithMetrics()
    {
        var runs = JsonNode.Parse(await f.Http.GetStringAsync("/v1/gensharp/runs"))!["data"]!.AsArray();
        var names = runs.Select(r => (string)r!["name"]!).ToList();
        Assert.Contains("vae-run", names);
        Assert.DoesNotContain("notes", names);       // no metrics.jsonl
        Assert.DoesNotContain("qwen2", names);       // a Hugging Face folder, not a run
        var vae = runs.Single(r => (string?)r!["name"] == "vae-run")!;
        Assert.Equal(Directory.GetFiles(Path.Combine(f.VaeRunDir, "samples"), "*.png").Length, (int)vae["samples"]!);
    }

    [Fact]
    public async Task MetricsAreTheRowsOfMetricsJsonl()
    {
        var rows = JsonNode.Parse(await f.Http.GetStringAsync("/v1/gensharp/runs/vae-run/metrics"))!["data"]!.AsArray();
        var lines = File.ReadAllLines(Path.Combine(f.VaeRunDir, "metrics.jsonl")).Where(l => l.Length > 0).ToList();
        Assert.Equal(new long[] { 50, 100 }, rows.Select(r => (long)r!["step"]!).ToArray());
        Assert.Equal(lines.Select(l => (double)JsonNode.Parse(l)!["loss"]!), rows.Select(r => (double)r!["loss"]!));
    }

    [Fact]
    public async Task MetricsSkipAHalfWrittenLastLine()
    {
        var dir = Path.Combine(f.ModelsDir, "partial-run");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), "{\"step\":1,\"loss\":2.5}\n{\"step\":2,\"lo");
        try
        {
            var rows = JsonNode.Parse(await f.Http.GetStringAsync("/v1/gensharp/runs/partial-run/metrics"))!["data"]!.AsArray();
            Assert.Equal(2.5, (double)Assert.Single(rows)!["loss"]!);
            var samples = JsonNode.Parse(await f.Http.GetStringAsync("/v1/gensharp/runs/partial-run/samples"))!["data"]!.AsArray();
            Assert.Empty(samples);                   // no samples/ folder yet
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task SamplesAreListedAndServedAsPng()
    {
        var samples = JsonNode.Parse(await f.Http.GetStringAsync("/v1/gensharp/runs/vae-run/samples"))!["data"]!.AsArray();
        var files = Directory.GetFiles(Path.Combine(f.VaeRunDir, "samples"), "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "step-0000050.png", "step-0000100.png" }, files);
        Assert.Equal(files, samples.Select(s => (string?)s!["file"]).ToArray());
        foreach (var s in samples)
        {
            using var r = await f.Http.GetAsync((string)s!["url"]!);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("image/png", r.Content.Headers.ContentType!.MediaType);
            Assert.Equal(File.ReadAllBytes(Path.Combine(f.VaeRunDir, "samples", (string)s["file"]!)), await r.Content.ReadAsByteArrayAsync());
        }
    }

    [Theory]
    [InlineData("/v1/gensharp/runs/..%2Fvae-run/metrics", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/..%5Cvae-run/metrics", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/..%2F..%2Fetc/samples", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/vae-run..x/metrics", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/vae-run/samples/..%2F..%2Fchat%2Fmetrics.jsonl", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/vae-run/samples/..%5Cmetrics.jsonl", HttpStatusCode.BadRequest)]
    [InlineData("/v1/gensharp/runs/notes/metrics", HttpStatusCode.NotFound)]              // a folder without metrics.jsonl
    [InlineData("/v1/gensharp/runs/missing/samples", HttpStatusCode.NotFound)]
    [InlineData("/v1/gensharp/runs/vae-run/samples/step-9.png", HttpStatusCode.NotFound)]
    [InlineData("/v1/gensharp/runs/vae-run/samples/metrics.jsonl", HttpStatusCode.NotFound)] // only PNG files, only in samples/
    public async Task NamesThatEscapeOrDoNotExistAreRefused(string path, HttpStatusCode expected)
    {
        using var r = await f.Http.GetAsync(path);
        AssertError(expected, r, await r.Content.ReadAsStringAsync());
    }
}
