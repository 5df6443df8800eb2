using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace GenSharp.Server;

/// <summary>
/// A request's JSON object with typed field access: a field of the wrong type is a 400 naming it. JSON null counts as
/// absent. Unknown fields are ignored (clients send fields of newer API versions).
/// </summary>
public sealed class RequestBody
{
    readonly JsonObject _body;

    RequestBody(JsonObject body) => _body = body;

    /// <summary>Reads the body of <paramref name="http"/> as a JSON object: 413 beyond <paramref name="maxBytes"/>, 400 when it is not a JSON object.</summary>
    public static async Task<RequestBody> ReadAsync(HttpContext http, long maxBytes)
    {
        if (http.Request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes) throw TooLarge(maxBytes);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw new ApiException(400, "the request body is empty; send a JSON object", code: "invalid_json");
        var bytes = buffer.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new ApiException(400, "the request body is not valid UTF-8", code: "invalid_json");
        JsonNode? node;
        try { node = JsonNode.Parse(bytes, documentOptions: new JsonDocumentOptions { MaxDepth = 64 }); }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the request body is not valid JSON ({e.Message.Split('\n')[0].Split(" Path:")[0]})", code: "invalid_json");
        }
        if (node is not JsonObject o) throw new ApiException(400, "the request body must be a JSON object", code: "invalid_json");
        // JsonNode builds objects lazily and throws on a repeated property when first read: find out here.
        try { Touch(o); }
        catch (ArgumentException) { throw new ApiException(400, "the request body repeats a property name; send each field once", code: "invalid_json"); }
        return new RequestBody(o);
    }

    static void Touch(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o: foreach (var (_, v) in o) Touch(v); break;
            case JsonArray a: foreach (var v in a) Touch(v); break;
        }
    }

    static ApiException TooLarge(long maxBytes) =>
        new(413, $"the request body is larger than {maxBytes} bytes", code: "request_too_large");

    /// <summary>The raw value of a field, or null when absent or null.</summary>
    public JsonNode? Node(string name) => _body[name];

    /// <summary>True when the field is present and not null.</summary>
    public bool Has(string name) => _body[name] is not null;

    public string? String(string name) => Node(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw WrongType(name, "a string", other),
    };

    public string RequiredString(string name) => String(name) ?? throw ApiException.Invalid(name, $"{name} is required", "missing_required_parameter");

    public bool? Bool(string name) => Node(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        var other => throw WrongType(name, "a boolean", other),
    };

    public double? Number(string name) => Node(name) switch
    {
        null => null,
        // 1e400 is valid JSON but no double: a 400, not an overflow.
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<JsonElement>().TryGetDouble(out var x) && double.IsFinite(x)
            ? x : throw ApiException.Invalid(name, $"{name} must be a finite number, got {v.ToJsonString()}", "invalid_value"),
        var other => throw WrongType(name, "a number", other),
    };

    public long? Integer(string name, long min = long.MinValue, long max = long.MaxValue)
    {
        var node = Node(name);
        if (node is null) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) throw WrongType(name, "an integer", node);
        var e = v.GetValue<JsonElement>();
        if (!e.TryGetInt64(out long x)) throw ApiException.Invalid(name, $"{name} must be an integer, got {node.ToJsonString()}", "invalid_type");
        if (x < min || x > max) throw ApiException.Invalid(name, $"{name} must be in [{min}, {max}], got {x}", "invalid_value");
        return x;
    }

    /// <summary>A string or an array of strings (OpenAI's <c>stop</c>, <c>prompt</c>); null when absent.</summary>
    public IReadOnlyList<string>? Strings(string name)
    {
        var node = Node(name);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => new[] { v.GetValue<string>() },
            JsonArray a => a.Select((x, i) => x is JsonValue s && s.GetValueKind() == JsonValueKind.String
                ? s.GetValue<string>()
                : throw ApiException.Invalid(name, $"{name}[{i}] must be a string, got {Kind(x)}", "invalid_type")).ToArray(),
            _ => throw WrongType(name, "a string or an array of strings", node),
        };
    }

    internal static ApiException WrongType(string name, string expected, JsonNode? got) =>
        ApiException.Invalid(name, $"{name} must be {expected}, got {Kind(got)}", "invalid_type");

    internal static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        },
        _ => "a value",
    };
}
