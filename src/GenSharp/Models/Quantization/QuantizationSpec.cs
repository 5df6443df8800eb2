using System.Text.Json.Nodes;

namespace GenSharp.Models.Quantization;

/// <summary>
/// How a decoder's linear layers are stored: <see cref="Bits"/> 8 = int8, symmetric, one scale per output channel;
/// 4 = int4, asymmetric, a scale and an offset per <see cref="GroupSize"/> weights along the input. Written to config.json
/// as <c>quantization_config</c> (<see cref="ToJson"/>), which is what makes a folder a quantized model.
/// </summary>
/// <param name="Bits">8 or 4.</param>
/// <param name="GroupSize">Weights per int4 scale (32, 64, 128 or 256); 0 for int8 (per channel).</param>
/// <param name="Head">True when the head (lm_head, or the tied embedding used as the head) is quantized too.</param>
/// <param name="HeadBits">Bits of the head; 0 means <paramref name="Bits"/>. <see cref="Create"/> keeps the head of an
/// int4 model in int8, as llama.cpp's Q4_0 keeps its output matrix in Q6_K or Q8_0: the head is the largest single
/// matrix of a small model, its errors go straight into every logit, and FBGEMM's int8 product of it is ~2× faster here
/// than the int4 kernel's.</param>
public sealed record QuantizationSpec(int Bits, int GroupSize, bool Head = true, int HeadBits = 0)
{
    /// <summary>How the head is stored: this spec, or int8 per channel when the head has 8 bits and the layers 4.</summary>
    public QuantizationSpec ForHead => HeadBits is 0 || HeadBits == Bits ? this : new(HeadBits, HeadBits == 4 ? GroupSize : 0, Head, HeadBits);

    /// <summary>config.json key (Hugging Face's name for it; <c>quant_method</c> says the layout is GenSharp's).</summary>
    public const string ConfigKey = "quantization_config";
    /// <summary>The <c>quant_method</c> value of GenSharp's layout.</summary>
    public const string Method = "gensharp";
    /// <summary>The int4 group size when none is given.</summary>
    public const int DefaultGroupSize = 32;
    /// <summary>Group sizes libtorch's int4 kernel takes.</summary>
    public static readonly int[] GroupSizes = { 32, 64, 128, 256 };

    /// <summary>
    /// The spec of <paramref name="bits"/> with <paramref name="groupSize"/> (null: the default for the bits) and a head of
    /// <paramref name="headBits"/> (null: 8), validated.
    /// </summary>
    public static QuantizationSpec Create(int bits, int? groupSize, int? headBits = null)
    {
        if (bits is not (8 or 4))
            throw new ParameterException("bits", $"is {bits}; weights are quantized to 8 or 4 bits");
        int head = headBits ?? 8;
        if (!HeadFits(bits, head))
            throw new ParameterException("head_bits", $"is {head}; the head is quantized to 8 bits, or for a 4-bit model to 4 or 8");
        if (bits == 8 && groupSize is not null)
            throw new ParameterException("group_size", "applies to 4 bits; int8 weights have one scale per output channel");
        int g = groupSize ?? (bits == 4 ? DefaultGroupSize : 0);
        if (bits == 4 && !GroupSizes.Contains(g))
            throw new ParameterException("group_size", $"is {g}; libtorch's int4 kernel takes {string.Join(", ", GroupSizes)}");
        return new QuantizationSpec(bits, g, HeadBits: head);
    }

    /// <summary>Whether a head of <paramref name="head"/> bits goes with layers of <paramref name="bits"/>: 8 with either, 4 with 4.</summary>
    static bool HeadFits(int bits, int head) => head == 8 || (bits == 4 && head == 4);

    /// <summary>Short name: int8, int4-g32.</summary>
    public string Describe() => Bits == 8 ? "int8 (per output channel)" : $"int4 (groups of {GroupSize})" + (Head && ForHead.Bits == 8 ? ", int8 head" : "");

    public JsonObject ToJson() => new()
    {
        ["quant_method"] = Method, ["bits"] = Bits, ["group_size"] = GroupSize, ["head"] = Head, ["head_bits"] = ForHead.Bits,
        ["symmetric"] = Bits == 8, ["format"] = 1,
    };

    /// <summary>The spec in a config.json (GenSharp manifest or Hugging Face config), or null when the model is not quantized.</summary>
    /// <exception cref="GenSharpException">The entry is not GenSharp's or is malformed.</exception>
    public static QuantizationSpec? Read(JsonObject config, string source)
    {
        if (config[ConfigKey] is not JsonObject q) return null;
        string? method = q["quant_method"]?.GetValue<string>();
        if (method != Method)
            throw new GenSharpException($"{source}: {ConfigKey}.quant_method is \"{method}\"; GenSharp reads only its own quantized layout (\"{Method}\")");
        try
        {
            int bits = q["bits"]!.GetValue<int>(), group = q["group_size"]?.GetValue<int>() ?? 0;
            int head = q["head_bits"]?.GetValue<int>() ?? bits;                  // folders written before head_bits: the layers' bits
            if (bits is not (8 or 4) || (bits == 4 && !GroupSizes.Contains(group)) || !HeadFits(bits, head))
                throw new GenSharpException($"{source}: {ConfigKey} has bits {bits}, group_size {group}, head_bits {head}; the folder is corrupt");
            return new QuantizationSpec(bits, group, q["head"]?.GetValue<bool>() ?? false, head);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new GenSharpException($"{source}: {ConfigKey} is malformed ({e.Message.Split('\n')[0]}); the folder is corrupt");
        }
    }
}
