using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Sampling;

namespace GenSharp.Server;

/// <summary>The fields /v1/completions and /v1/chat/completions share, parsed and checked.</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Options">How to decode (choice c of n uses Seed + c).</param>
/// <param name="N">Choices per prompt.</param>
/// <param name="Stream">Answer as Server-Sent Events.</param>
/// <param name="IncludeUsage">Streaming: end with a usage chunk.</param>
/// <param name="Logprobs">−1: no log-probabilities; 0: of each generated token; k: and the k most likely alternatives.</param>
public sealed record TextRequest(string Model, GenerationOptions Options, int N, bool Stream, bool IncludeUsage, int Logprobs)
{
    /// <summary>
    /// Parses the shared fields. OpenAI fields the library cannot honour (logit_bias, tools) are refused with a 400
    /// rather than ignored; GenSharp extras are <c>top_k</c>, <c>min_p</c>, <c>repetition_penalty</c> and llama.cpp's <c>ignore_eos</c>. Log-probabilities
    /// are asked for as chat does (<c>logprobs: true</c>, <c>top_logprobs: 0…20</c>) or as completions do (<c>logprobs: 0…5</c>).
    /// </summary>
    public static TextRequest Parse(RequestBody body, ServerOptions server, int defaultMaxTokens, bool chat)
    {
        var model = body.RequiredString("model");
        long? maxTokens = body.Integer("max_completion_tokens", 1, server.MaxTokensCap) ?? body.Integer("max_tokens", 1, server.MaxTokensCap);
        int n = (int)(body.Integer("n", 1, server.MaxChoices) ?? 1);
        int logprobs = chat ? ChatLogprobs(body) : CompletionLogprobs(body);
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
            PresencePenalty = body.Number("presence_penalty") ?? 0,
            FrequencyPenalty = body.Number("frequency_penalty") ?? 0,
            // Without a seed each request draws one, as OpenAI's sampling differs call to call.
            Seed = body.Integer("seed") ?? Random.Shared.NextInt64(),
            StopSequences = stops,
            // llama.cpp's extension, for benchmarks that need exactly max_tokens from every request.
            IgnoreEos = body.Bool("ignore_eos") ?? false,
        };
        try { options.Validate(); }
        catch (ParameterException e) { throw FromLibrary(e); }
        return new TextRequest(model, options, n, stream, includeUsage, logprobs);
    }

    /// <summary>Chat: <c>logprobs</c> a boolean, <c>top_logprobs</c> 0…20 (only with logprobs true).</summary>
    static int ChatLogprobs(RequestBody body)
    {
        bool on = body.Bool("logprobs") ?? false;
        var top = body.Integer("top_logprobs", 0, 20);
        if (top is not null && !on) throw ApiException.Invalid("top_logprobs", "top_logprobs needs logprobs: true", "invalid_value");
        return on ? (int)(top ?? 0) : -1;
    }

    /// <summary>Completions: <c>logprobs</c> 0…5 alternatives per token (null = none).</summary>
    static int CompletionLogprobs(RequestBody body)
    {
        if (body.Has("top_logprobs")) throw ApiException.Invalid("top_logprobs", "completions take logprobs: 0…5 (the number of alternatives), not top_logprobs", "invalid_value");
        return (int)(body.Integer("logprobs", 0, 5) ?? -1);
    }

    /// <summary>A library parameter error as a 400 naming the JSON field.</summary>
    public static ApiException FromLibrary(ParameterException e)
    {
        string param = e.Parameter == "max_new_tokens" ? "max_tokens" : e.Parameter;
        return ApiException.Invalid(param, $"{param} {e.Detail}", "invalid_value");
    }
}
