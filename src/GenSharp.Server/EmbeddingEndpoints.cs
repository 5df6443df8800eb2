using System.Text.Json.Nodes;
using GenSharp.Models.Encoders;
using GenSharp.Runtime;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// <c>POST /v1/embeddings</c> (OpenAI's shape): <c>model</c> is <c>minilm</c> / <c>all-MiniLM-L6-v2</c> (built in) or the
/// name of a sub-folder of the models folder holding a Hugging Face BERT or sentence-transformers model; <c>input</c> a
/// string or an array of strings; <c>encoding_format</c> <c>float</c> (default) or <c>base64</c> (little-endian float32,
/// what the official SDKs ask for); <c>dimensions</c>, when given, must be the model's width. Encoders are loaded on first
/// use and kept; one request runs on an encoder at a time.
/// </summary>
sealed class EmbeddingEndpoints(ServerOptions options) : IDisposable
{
    /// <summary>Texts one request may embed at most (OpenAI's limit).</summary>
    public const int MaxInputs = 2048;

    readonly Dictionary<string, (SentenceEncoder Encoder, SemaphoreSlim Gate)> _loaded = new(StringComparer.Ordinal);
    readonly object _sync = new();

    public async Task Embeddings(HttpContext http)
    {
        var body = await RequestBody.ReadAsync(http, options.MaxRequestBodyBytes);
        var name = body.RequiredString("model");
        var inputs = body.Strings("input") ?? throw ApiException.Invalid("input", "input is required", "missing_required_parameter");
        if (inputs.Count == 0) throw ApiException.Invalid("input", "input must not be empty", "invalid_value");
        if (inputs.Count > MaxInputs) throw ApiException.Invalid("input", $"input holds {inputs.Count} texts; at most {MaxInputs} per request", "invalid_value");
        var format = body.String("encoding_format") ?? "float";
        if (format is not ("float" or "base64")) throw ApiException.Invalid("encoding_format", $"encoding_format '{format}' is not supported; use float or base64", "invalid_value");
        var (encoder, gate) = Get(name);
        if (body.Integer("dimensions", 1, 1 << 20) is { } dims && dims != encoder.Dimensions)
            throw ApiException.Invalid("dimensions", $"model '{name}' gives {encoder.Dimensions} dimensions, not {dims}", "invalid_value");

        float[][] vectors;
        int tokens;
        await gate.WaitAsync(http.RequestAborted);
        try
        {
            tokens = inputs.Sum(t => Math.Min(encoder.MaxLength, encoder.Tokenizer.CountTokens(t) + 2));
            vectors = await Task.Run(() => encoder.Embed(inputs, 32), http.RequestAborted);
        }
        finally { gate.Release(); }

        var data = new JsonArray();
        for (int i = 0; i < vectors.Length; i++)
        {
            JsonNode embedding;
            if (format == "base64")
            {
                var bytes = new byte[vectors[i].Length * 4];
                Buffer.BlockCopy(vectors[i], 0, bytes, 0, bytes.Length);        // float32, little-endian on the platforms .NET runs on here
                embedding = Convert.ToBase64String(bytes);
            }
            else embedding = new JsonArray(vectors[i].Select(v => (JsonNode)v).ToArray());
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = embedding });
        }
        var response = new JsonObject
        {
            ["object"] = "list", ["data"] = data, ["model"] = name,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        };
        await Results.Text(response.ToJsonString(), "application/json").ExecuteAsync(http);
    }

    internal (SentenceEncoder Encoder, SemaphoreSlim Gate) Get(string name)
    {
        lock (_sync)
        {
            if (_loaded.TryGetValue(name, out var found)) return found;
            SentenceEncoder encoder;
            if (name.Equals(SentenceEncoders.BuiltInName, StringComparison.OrdinalIgnoreCase) || name == SentenceEncoders.MiniLmName)
                encoder = SentenceEncoders.MiniLm(TorchRuntime.ParseDevice(options.Device));
            else
            {
                var dir = Path.Combine(options.ModelsDir, name);
                if (name.Contains('/') || name.Contains('\\') || name.StartsWith('.') || !File.Exists(Path.Combine(dir, "config.json"))
                    || JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))?["model_type"]?.GetValue<string>() != "bert")
                    throw new ApiException(404, $"no embedding model '{name}': use '{SentenceEncoders.BuiltInName}' (built in) or a BERT / sentence-transformers folder under the models folder",
                        "model", "model_not_found");
                try { encoder = SentenceEncoders.FromHfFolder(dir, TorchRuntime.ParseDevice(options.Device)); }
                catch (GenSharpException e) { throw ApiException.Invalid("model", $"model '{name}' cannot be loaded: {e.Message}", "model_not_supported"); }
            }
            var entry = (encoder, new SemaphoreSlim(1, 1));
            _loaded[name] = entry;
            return entry;
        }
    }

    public void Dispose()
    {
        lock (_sync)
        {
            foreach (var (e, g) in _loaded.Values) { e.Dispose(); g.Dispose(); }
            _loaded.Clear();
        }
    }
}
