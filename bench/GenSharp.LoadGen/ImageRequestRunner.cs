using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace GenSharp.LoadGen;

/// <summary>What one image request measured.</summary>
sealed record ImageResult(bool Ok, string? Error, double LatencyMs, int Images);

/// <summary>Sends one <c>POST /v1/images/generations</c> and counts the images of the answer.</summary>
sealed class ImageRequestRunner(HttpClient http, LoadOptions o)
{
    public async Task<ImageResult> RunAsync(long seed, CancellationToken cancel)
    {
        var body = new JsonObject { ["model"] = o.Model, ["prompt"] = o.Prompt, ["n"] = o.ImagesPerRequest, ["seed"] = seed };
        // GenSharp's sampler extras; sent only when asked for, since a family without them refuses them.
        if (o.Steps is { } steps) body["steps"] = steps;
        if (o.Scheduler is { } scheduler) body["scheduler"] = scheduler;
        var clock = Stopwatch.StartNew();
        try
        {
            using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(new Uri(o.Url, "v1/images/generations"), content, cancel);
            var text = await response.Content.ReadAsStringAsync(cancel);
            double ms = clock.Elapsed.TotalMilliseconds;
            if (!response.IsSuccessStatusCode) return new ImageResult(false, $"HTTP {(int)response.StatusCode}: {TextRequestRunner.OneLine(text)}", ms, 0);
            int images = JsonNode.Parse(text)?["data"] is JsonArray data ? data.Count : 0;
            return images == o.ImagesPerRequest
                ? new ImageResult(true, null, ms, images)
                : new ImageResult(false, $"asked for {o.ImagesPerRequest} images, got {images}", ms, images);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { throw; }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return new ImageResult(false, $"{TextRequestRunner.Describe(e)}", clock.Elapsed.TotalMilliseconds, 0);
        }
    }
}
