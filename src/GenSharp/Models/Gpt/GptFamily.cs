using GenSharp.Text;
using static TorchSharp.torch;

namespace GenSharp.Models.Gpt;

/// <summary>Registry entry for <c>gpt</c>.</summary>
public sealed class GptFamily : Family<GptConfig>, ITextFamily
{
    /// <summary>Registry name.</summary>
    public const string FamilyName = "gpt";
    public override string Name => FamilyName;
    public override string Summary => "decoder-only transformer language model (GPT-2 layout) on a UTF-8 text file; char or byte-level BPE tokenizer; eval perplexity, generate with a KV cache";
    public override int DefaultBatchSize => 12;
    protected override IGenerativeModel Build(GptConfig config, Device device) => new GptModel(config, device);

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
}
