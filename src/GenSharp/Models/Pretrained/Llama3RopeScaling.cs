using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// Llama 3.1's RoPE frequency scaling (config.json <c>rope_scaling</c> with <c>rope_type: "llama3"</c>): rotary
/// wavelengths longer than original_max_position_embeddings / low_freq_factor are slowed down by
/// <c>factor</c>, those shorter than original / high_freq_factor are kept, and the band between is a
/// linear blend of the two in 1 / wavelength.
/// </summary>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, double OriginalMaxPositions)
{
    /// <summary>Null for an absent or null rope_scaling; the scaling for rope_type llama3; a one-line error for any other type.</summary>
    public static Llama3RopeScaling? Parse(JsonNode? node, string source)
    {
        if (node is null || (node is JsonValue v && v.GetValueKind() == JsonValueKind.Null)) return null;
        if (node is not JsonObject o) throw new GenSharpException($"{source}: rope_scaling must be null or an object");
        var type = (o["rope_type"] ?? o["type"])?.GetValue<string>();
        if (type == "default") return null;
        if (type != "llama3")
            throw new GenSharpException($"{source}: rope_scaling with rope_type \"{type}\" is not supported (only null, default or llama3); the model needs RoPE scaling GenSharp does not implement");
        double Get(string key) => HfModelConfig.Double(o, source, key) ?? throw new GenSharpException($"{source}: rope_scaling (llama3) has no {key}");
        var s = new Llama3RopeScaling(Get("factor"), Get("low_freq_factor"), Get("high_freq_factor"), Get("original_max_position_embeddings"));
        if (!(s.Factor > 0 && s.LowFreqFactor > 0 && s.HighFreqFactor > s.LowFreqFactor && s.OriginalMaxPositions > 0))
            throw new GenSharpException($"{source}: rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0");
        return s;
    }

    /// <summary>The scaled inverse frequency of one rotary pair.</summary>
    public double Apply(double invFreq)
    {
        double wavelength = 2 * Math.PI / invFreq;
        double longest = OriginalMaxPositions / LowFreqFactor, shortest = OriginalMaxPositions / HighFreqFactor;
        if (wavelength < shortest) return invFreq;                  // high frequencies: unchanged
        if (wavelength > longest) return invFreq / Factor;          // low frequencies: slowed by factor
        double smooth = (OriginalMaxPositions / wavelength - LowFreqFactor) / (HighFreqFactor - LowFreqFactor);
        return (1 - smooth) * invFreq / Factor + smooth * invFreq;
    }
}
