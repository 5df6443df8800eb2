using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models.Gpt;
using GenSharp.Models.Quantization;
using GenSharp.Text;

namespace GenSharp.Models.Pretrained;

/// <summary>
/// A Hugging Face model folder: <c>config.json</c> (with <c>model_type</c>), <c>model.safetensors</c> or
/// <c>model.safetensors.index.json</c> + shards, <c>tokenizer.json</c>, and optionally
/// <c>tokenizer_config.json</c> and <c>generation_config.json</c>.
/// </summary>
public static class HfModelFolder
{
    /// <summary>True when <paramref name="path"/> is a folder whose config.json has "model_type" and no GenSharp "family".</summary>
    public static bool IsHfFolder(string path)
    {
        var config = Path.Combine(path, "config.json");
        if (!Directory.Exists(path) || !File.Exists(config)) return false;
        try
        {
            var j = JsonNode.Parse(File.ReadAllText(config)) as JsonObject;
            return j is not null && j["model_type"] is not null && j["family"] is null;
        }
        catch (JsonException) { return false; }
    }

    /// <summary>Reads the folder's config.json.</summary>
    public static HfModelConfig ReadConfig(string folder)
    {
        var file = Path.Combine(folder, "config.json");
        return HfModelConfig.Parse(HfTokenizer.ReadJson(file), file);
    }

    /// <summary>Loads the model (weights cast to float32 on <paramref name="device"/>) and its tokenizer.</summary>
    public static (PretrainedLanguageModel Model, HfTokenizer Tokenizer) Load(string folder, Device device)
    {
        var config = ReadConfig(folder);
        var tokenizer = HfTokenizer.Load(folder, config.VocabSize, EosIds(folder));
        if (tokenizer.VocabSize > config.VocabSize)
            throw new GenSharpException($"{folder}: tokenizer.json has ids up to {tokenizer.VocabSize - 1} but config.json's vocab_size is {config.VocabSize}; the files come from different models");
        var file = Path.Combine(folder, "config.json");
        var spec = QuantizationSpec.Read(HfTokenizer.ReadJson(file), file);
        if (spec is not null) QuantizedCheckpoint.CheckDevice(spec, folder, device);
        PretrainedLanguageModel model;
        using (spec is null ? null : DeferredWeights.Begin(spec.Head))     // the layers the file's codes replace get no float32 storage
            model = new PretrainedLanguageModel(config, device);
        try
        {
            if (spec is not null) QuantizedCheckpoint.Load(model.Network, spec, folder, device);
            else HfWeights.Load(model, folder);
        }
        catch { model.Dispose(); throw; }
        return (model, tokenizer);
    }

    /// <summary>eos_token_id of config.json and generation_config.json (a number or a list).</summary>
    public static IReadOnlyList<int> EosIds(string folder)
    {
        var ids = new List<int>();
        foreach (var name in new[] { "config.json", "generation_config.json" })
        {
            var file = Path.Combine(folder, name);
            if (!File.Exists(file)) continue;
            switch (HfTokenizer.ReadJson(file)["eos_token_id"])
            {
                case JsonArray list: ids.AddRange(list.Select(n => n!.GetValue<int>())); break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.Number: ids.Add(v.GetValue<int>()); break;
            }
        }
        return ids.Distinct().ToArray();
    }
}
