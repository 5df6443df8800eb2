using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Models.StableDiffusion;

/// <summary>Reads the fields of a diffusers / transformers component config.json, with one-line errors that name the file and field.</summary>
internal static class SdJson
{
    public static JsonObject Read(string file)
    {
        if (!File.Exists(file)) throw new GenSharpException($"{file} not found; a Stable Diffusion folder needs it (download the whole diffusers folder)");
        try { return JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new GenSharpException($"{file} is not a JSON object"); }
        catch (JsonException e) { throw new GenSharpException($"{file} is not valid JSON: {e.Message}"); }
    }

    public static int Int(JsonObject j, string key, string file, int? fallback = null)
    {
        var n = j[key];
        if (n is null) return fallback ?? throw new GenSharpException($"{file}: \"{key}\" is missing");
        try { return n.GetValue<int>(); } catch (Exception) { throw new GenSharpException($"{file}: \"{key}\" must be an integer"); }
    }

    public static double Double(JsonObject j, string key, string file, double fallback)
    {
        var n = j[key];
        if (n is null) return fallback;
        try { return n.GetValue<double>(); } catch (Exception) { throw new GenSharpException($"{file}: \"{key}\" must be a number"); }
    }

    public static bool Bool(JsonObject j, string key, string file, bool fallback)
    {
        var n = j[key];
        if (n is null) return fallback;
        try { return n.GetValue<bool>(); } catch (Exception) { throw new GenSharpException($"{file}: \"{key}\" must be true or false"); }
    }

    public static string? String(JsonObject j, string key, string file)
    {
        var n = j[key];
        if (n is null) return null;
        try { return n.GetValue<string>(); } catch (Exception) { throw new GenSharpException($"{file}: \"{key}\" must be a string"); }
    }

    /// <summary>An integer list, or one integer repeated <paramref name="count"/> times.</summary>
    public static int[] Ints(JsonObject j, string key, string file, int count = 0)
    {
        var n = j[key] ?? throw new GenSharpException($"{file}: \"{key}\" is missing");
        try
        {
            if (n is JsonArray a) return a.Select(x => x!.GetValue<int>()).ToArray();
            return Enumerable.Repeat(n.GetValue<int>(), count).ToArray();
        }
        catch (Exception e) when (e is not GenSharpException) { throw new GenSharpException($"{file}: \"{key}\" must be an integer or a list of integers"); }
    }

    public static string[] Strings(JsonObject j, string key, string file)
    {
        var n = j[key] as JsonArray ?? throw new GenSharpException($"{file}: \"{key}\" must be a list of names");
        return n.Select(x => x?.GetValue<string>() ?? throw new GenSharpException($"{file}: \"{key}\" has a null entry")).ToArray();
    }
}
