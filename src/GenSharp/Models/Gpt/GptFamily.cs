using System.Text.Json.Nodes;
using GenSharp.Text;

namespace GenSharp.Models.Gpt;

/// <summary>Registry entry for <c>gpt</c>.</summary>
public sealed class GptFamily() : Family<GptConfig>(GptModel.FamilyName, (config, device) => new GptModel(config, device),
    "decoder-only transformer language model (GPT-2 layout) on a UTF-8 text file; char or byte-level BPE tokenizer; eval perplexity, generate with a KV cache",
    new("0.06 s", "300 MB", 2000), defaultBatchSize: 12), ITextFamily
{
    /// <summary>
    /// Reads a gpt config. Checkpoints written before text configs lost the image fields carry
    /// image_channels, image_size and num_classes; they never affected a gpt and are dropped.
    /// </summary>
    public override FamilyConfig ReadConfig(JsonObject json)
    {
        foreach (var legacy in new[] { "image_channels", "image_size", "num_classes" }) json.Remove(legacy);
        return base.ReadConfig(json);
    }

    public ITokenizer CreateTokenizer(FamilyConfig config, string text)
    {
        var c = (GptConfig)config;
        return Tokenizers.Train(c.Tokenizer, text, c.BpeVocabSize);
    }

    public FamilyConfig ForTraining(FamilyConfig config, ITokenizer tokenizer, long totalSteps)
    {
        var c = (GptConfig)config;
        return c with { VocabSize = tokenizer.VocabSize, LrDecaySteps = c.LrDecaySteps > 0 ? c.LrDecaySteps : totalSteps };
    }

    public int ContextLength(FamilyConfig config) => ((GptConfig)config).BlockSize;

    public int ValidationEvery(FamilyConfig config) => ((GptConfig)config).EvalInterval;

    public int ValidationBatches(FamilyConfig config) => ((GptConfig)config).EvalIters;
}
