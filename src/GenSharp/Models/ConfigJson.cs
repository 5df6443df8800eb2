using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace GenSharp.Models;

/// <summary>
/// JSON form of config records: snake_case field names, unknown fields rejected, and
/// <c>key=value</c> overrides from the command line parsed by the field's type.
/// </summary>
public static class ConfigJson
{
    /// <summary>Serializer options used for every config.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Config → JSON object.</summary>
    public static JsonObject ToJson(FamilyConfig config) =>
        JsonSerializer.SerializeToNode(config, config.GetType(), Options)!.AsObject();

    /// <summary>JSON object → validated config of type <typeparamref name="T"/>.</summary>
    public static T FromJson<T>(JsonObject json) where T : FamilyConfig
    {
        T? config;
        try { config = json.Deserialize<T>(Options); }
        catch (JsonException e)
        {
            var known = string.Join(", ", FieldNames(typeof(T)));
            var what = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? $"unknown config field (known fields: {known})"
                : $"bad config value{(e.Path is null ? "" : " at " + e.Path)}";
            throw new GenSharpException($"{what}: {e.Message.Split('\n')[0]}");
        }
        if (config is null) throw new GenSharpException("config must be a JSON object");
        config.Validate();
        return config;
    }

    /// <summary>snake_case names of a config type's fields.</summary>
    public static IEnumerable<string> FieldNames(Type configType) =>
        configType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != "EqualityContract")
            .Select(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));

    /// <summary>
    /// Applies <c>key=value</c> overrides to a config's JSON. Values are parsed by the field's
    /// current JSON kind (number, bool, string, null-able); unknown keys are an error listing the known ones.
    /// </summary>
    public static void ApplyOverrides(JsonObject json, Type configType, IEnumerable<string> sets)
    {
        var props = configType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != "EqualityContract")
            .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
        foreach (var set in sets)
        {
            int eq = set.IndexOf('=');
            if (eq <= 0) throw new ParameterException("set", $"{set}: expected key=value");
            var key = set[..eq].Trim();
            var text = set[(eq + 1)..].Trim();
            if (!props.TryGetValue(key, out var prop))
                throw new ParameterException("set", $"{key}: unknown config field; known fields: {string.Join(", ", props.Keys)}");
            json[key] = ParseValue(key, text, prop.PropertyType);
        }
    }

    static JsonNode? ParseValue(string key, string text, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (text is "null" && (Nullable.GetUnderlyingType(type) is not null || !type.IsValueType)) return null;
        var ci = CultureInfo.InvariantCulture;
        try
        {
            if (t == typeof(int)) return JsonValue.Create(int.Parse(text, ci));
            if (t == typeof(long)) return JsonValue.Create(long.Parse(text, ci));
            if (t == typeof(double)) return JsonValue.Create(double.Parse(text, ci));
            if (t == typeof(float)) return JsonValue.Create(float.Parse(text, ci));
            if (t == typeof(bool)) return JsonValue.Create(bool.Parse(text));
            if (t == typeof(string)) return JsonValue.Create(text);
            if (t.IsEnum)
            {
                var names = Enum.GetNames(t).Select(n => JsonNamingPolicy.SnakeCaseLower.ConvertName(n)).ToArray();
                if (!names.Contains(text)) throw new FormatException($"expected one of {string.Join(", ", names)}");
                return JsonValue.Create(text);
            }
            return JsonNode.Parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException or JsonException)
        {
            // The runtime's own format message ("The input string 'abc' was not in a correct format.") helps no one.
            var detail = e is FormatException && t.IsEnum ? $" ({e.Message})" : "";
            throw new ParameterException("set", $"{key}={text}: {key} must be {FriendlyName(t)}{detail}");
        }
    }

    static string FriendlyName(Type t) =>
        t == typeof(int) || t == typeof(long) ? "a whole number" : t == typeof(double) || t == typeof(float) ? "a number" :
        t == typeof(bool) ? "true or false" : t.IsEnum ? "one of its names" : $"valid JSON for {t.Name}";
}
