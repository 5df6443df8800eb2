using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace GenSharp.Models;

/// <summary>One config field as front ends list it: snake_case name, default value as JSON, and its description.</summary>
public sealed record ConfigField(string Name, string Default, string Description);

/// <summary>
/// The fields of a config record with their defaults and descriptions. Descriptions are the properties' XML
/// documentation, read from the library's documentation file beside the assembly (empty when it is missing).
/// </summary>
public static class ConfigFields
{
    static readonly Lazy<Dictionary<string, string>> Docs = new(LoadDocs);

    /// <summary>The fields of <paramref name="defaults"/>'s type in declaration order (derived type first, then the base's).</summary>
    public static IReadOnlyList<ConfigField> Of(FamilyConfig defaults)
    {
        var json = ConfigJson.ToJson(defaults);
        var props = defaults.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != "EqualityContract")
            .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name));
        return json.Select(kv => new ConfigField(kv.Key, kv.Value?.ToJsonString() ?? "null",
            props.TryGetValue(kv.Key, out var p) ? Describe(p) : "")).ToList();
    }

    static string Describe(PropertyInfo p)
    {
        for (var t = p.DeclaringType; t is not null; t = t.BaseType)
            if (Docs.Value.TryGetValue($"P:{t.FullName}.{p.Name}", out var text)) return text;
        return "";
    }

    static Dictionary<string, string> LoadDocs()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var asm = typeof(ConfigFields).Assembly;
        var path = Path.ChangeExtension(asm.Location, ".xml");
        if (string.IsNullOrEmpty(asm.Location) || !File.Exists(path)) return result;
        try
        {
            foreach (var member in XDocument.Load(path).Descendants("member"))
            {
                var name = member.Attribute("name")?.Value;
                var summary = member.Element("summary");
                if (name is null || summary is null || !name.StartsWith("P:", StringComparison.Ordinal)) continue;
                // <see cref="X"/> and <c>x</c> become their text; white space folds to single spaces.
                var text = string.Concat(summary.Nodes().Select(n => n switch
                {
                    XText t => t.Value,
                    XElement { Name.LocalName: "see" } e => (e.Attribute("cref")?.Value ?? e.Attribute("langword")?.Value ?? "").Split('.', ':')[^1],
                    XElement e => e.Value,
                    _ => "",
                }));
                result[name] = Regex.Replace(text, @"\s+", " ").Trim();
            }
        }
        catch (System.Xml.XmlException) { }   // a damaged documentation file costs descriptions, nothing else
        return result;
    }
}
