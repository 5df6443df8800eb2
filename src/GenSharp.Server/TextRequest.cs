using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Sampling;

namespace GenSharp.Server;

/// <summary>The fields /v1/completions and /v1/chat/completions share, parsed and checked.</summary>
public sealed record TextRequest(string Model, GenerationOptions Options, int N, bool Stream, bool IncludeUsage)
{
    /// <summary>
    /// Parses the shared fields. OpenAI fields the library cannot honour (presence/frequency penalties, logprobs,
    /// logit_bias, tools) are refused with a 400 rather than ignored; GenSharp extras are <c>top_k</c>, <c>min_p</c>
    /// and <c>repetition_penalty</c>.
    /// </summary>
    public static TextRequest Parse(RequestBody body, ServerOptions server, int defaultMaxTokens)
    {
        var model = body.RequiredString("model");
        long? maxTokens = body.Integer("max_completion_tokens", 1, server.MaxTokensCap) ?? body.Integer("max_tokens", 1, server.MaxTokensCap);
        int n = (int)(body.Integer("n", 1, server.MaxChoices) ?? 1);
        foreach (var name in new[] { "presence_penalty", "frequency_penalty" })
            if (body.Number(name) is { } p && p != 0)
                throw ApiException.Invalid(name, $"{name} is not supported by GenSharp; use repetition_penalty (1 = off) or leave {name} at 0", "unsupported_parameter");
        if (body.Node("logprobs") is { } lp && !(lp is JsonValue v && v.GetValueKind() == JsonValueKind.False))
            throw ApiException.Invalid("logprobs", "logprobs is not supported yet", "unsupported_parameter");
        if (body.Has("top_logprobs")) throw ApiException.Invalid("top_logprobs", "top_logprobs is not supported yet", "unsupported_parameter");
        if (body.Node("logit_bias") is JsonObject bias && bias.Count > 0)
            throw ApiException.Invalid("logit_bias", "logit_bias is not supported", "unsupported_parameter");
        if (body.Node("tools") is JsonArray tools && tools.Count > 0)
            throw ApiException.Invalid("tools", "tools are not supported", "unsupported_parameter");
        var stops = body.Strings("stop") ?? Array.Empty<string>();
        if (stops.Count > 4) throw ApiException.Invalid("stop", $"stop takes at most 4 sequences, got {stops.Count}", "invalid_value");
        bool stream = body.Bool("stream") ?? false;
        bool includeUsage = false;
        switch (body.Node("stream_options"))
        {
            case null: break;
            case JsonObject so:
                if (so["include_usage"] is { } iu)
                {
                    if (iu is not JsonValue b || b.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                        throw RequestBody.WrongType("stream_options.include_usage", "a boolean", iu);
                    includeUsage = b.GetValue<bool>();
                }
                break;
            case var other: throw RequestBody.WrongType("stream_options", "an object", other);
        }
        if (body.Has("stream_options") && !stream)
            throw ApiException.Invalid("stream_options", "stream_options is only allowed when stream is true", "invalid_value");
        var options = new GenerationOptions
        {
            MaxNewTokens = (int)(maxTokens ?? defaultMaxTokens),
            Temperature = body.Number("temperature") ?? 1.0,
            TopP = body.Number("top_p") ?? 1.0,
            TopK = (int)(body.Integer("top_k", 0, int.MaxValue) ?? 0),
            MinP = body.Number("min_p") ?? 0,
            RepetitionPenalty = body.Number("repetition_penalty") ?? 1.0,
            // Without a seed each request draws one, as OpenAI's sampling differs call to call.
            Seed = body.Integer("seed") ?? Random.Shared.NextInt64(),
            StopSequences = stops,
        };
        try { options.Validate(); }
        catch (ParameterException e) { throw FromLibrary(e); }
        return new TextRequest(model, options, n, stream, includeUsage);
    }

    /// <summary>A library parameter error as a 400 naming the JSON field.</summary>
    public static ApiException FromLibrary(ParameterException e)
    {
        string param = e.Parameter == "max_new_tokens" ? "max_tokens" : e.Parameter;
        return ApiException.Invalid(param, $"{param} {e.Detail}", "invalid_value");
    }
}
