using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GenSharp.Server;
using Xunit;

namespace GenSharp.Tests;

/// <summary><c>GET /metrics</c> in Prometheus text format, checked against the requests a fresh server answered.</summary>
[Collection("Server")]
public class ServerMetricsTests(ServerFixture f)
{
    static readonly Regex Sample = new(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$");

    /// <summary>Parses the exposition text: every line a comment (# HELP / # TYPE) or "name{labels} value".</summary>
    static Dictionary<string, double> Parse(string text)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# HELP ") || line.StartsWith("# TYPE ")) continue;
            var m = Sample.Match(line);
            Assert.True(m.Success, $"not a Prometheus sample line: {line}");
            samples.Add(m.Groups[1].Value + m.Groups[2].Value, double.Parse(m.Groups[4].Value.Replace("+Inf", "Infinity"), CultureInfo.InvariantCulture));
        }
        return samples;
    }

    [Fact]
    public async Task CountsMatchTheRequestsMade()
    {
        await using var server = await GenSharpServer.StartAsync(new ServerOptions { ModelsDir = f.ModelsDir, Port = 0 });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        for (int i = 0; i < 3; i++) (await http.GetAsync("/v1/models")).Dispose();
        (await http.GetAsync("/nowhere")).Dispose();
        var chat = "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":6,\"seed\":4}";
        using var r = await http.PostAsync("/v1/chat/completions", new StringContent(chat, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var usage = JsonNode.Parse(await r.Content.ReadAsStringAsync())!["usage"]!;
        (await http.PostAsync("/v1/chat/completions", new StringContent("{\"model\":5}", Encoding.UTF8, "application/json"))).Dispose();
        (await http.PostAsync("/v1/images/generations", new StringContent("{\"model\":\"gan\",\"prompt\":\"coat\",\"n\":2}", Encoding.UTF8, "application/json"))).Dispose();

        using var m = await http.GetAsync("/metrics");
        Assert.Equal("text/plain", m.Content.Headers.ContentType!.MediaType);
        var s = Parse(await m.Content.ReadAsStringAsync());
        Assert.Equal(3, s["gensharp_requests_total{route=\"/v1/models\",status=\"200\"}"]);
        Assert.Equal(1, s["gensharp_requests_total{route=\"unmatched\",status=\"404\"}"]);
        Assert.Equal(1, s["gensharp_requests_total{route=\"/v1/chat/completions\",status=\"200\"}"]);
        Assert.Equal(1, s["gensharp_requests_total{route=\"/v1/chat/completions\",status=\"400\"}"]);
        Assert.Equal(1, s["gensharp_requests_total{route=\"/v1/images/generations\",status=\"200\"}"]);
        Assert.Equal(7, s.Where(kv => kv.Key.StartsWith("gensharp_requests_total")).Sum(kv => kv.Value));   // /metrics counts itself afterwards
        Assert.Equal((int)usage["prompt_tokens"]!, s["gensharp_prompt_tokens_total"]);
        Assert.Equal((int)usage["completion_tokens"]!, s["gensharp_completion_tokens_total"]);
        Assert.Equal(2, s["gensharp_images_generated_total"]);
        Assert.Equal(1, s["gensharp_time_to_first_token_seconds_count"]);
        Assert.Equal(1, s["gensharp_time_to_first_token_seconds_bucket{le=\"+Inf\"}"]);
        double gaps = s["gensharp_inter_token_latency_seconds_count"];
        Assert.InRange(gaps, 0, (int)usage["completion_tokens"]! - 1);
        // Buckets are cumulative.
        var buckets = s.Where(kv => kv.Key.StartsWith("gensharp_inter_token_latency_seconds_bucket")).Select(kv => kv.Value).ToList();
        Assert.Equal(buckets.OrderBy(x => x), buckets);
        Assert.Equal(gaps, buckets[^1]);
        Assert.Equal(2, s["gensharp_models_loaded"]);
        // The bytes gauge is the two models' footprints: the gpt's weights and KV allowance, the gan's weights.
        var chatBytes = server.Models.FootprintOf("chat")!;
        var ganBytes = server.Models.FootprintOf("gan")!;
        Assert.True(chatBytes.WeightBytes > 0 && ganBytes.WeightBytes > 0 && ganBytes.KvCacheBytes == 0);
        // The tiny chat gpt (ChatCliTests.TinyChatCheckpoint): 1 layer of width 16, context 64 → K and V of 16 floats a token, 4 sequences.
        Assert.Equal(2 * 1 * 16 * sizeof(float) * 64 * 16, chatBytes.KvCacheBytes);   // 16 rows: the default batch
        Assert.Equal(chatBytes.TotalBytes + ganBytes.TotalBytes, s["gensharp_models_loaded_bytes"]);
        Assert.Equal(0, s["gensharp_draining"]);
        Assert.Equal(0, s["gensharp_queue_depth"]);
        Assert.Equal(0, s["gensharp_running_requests"]);
    }
}
