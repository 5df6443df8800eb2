using GenSharp.Text;

namespace GenSharp.Models.Encoders;

/// <summary>
/// Registry entry for <c>bert</c>: trained from scratch by masked language modelling on a text file, with a char or
/// byte-level BPE tokenizer whose vocabulary is followed by four special ids ([PAD], [CLS], [SEP], [MASK]).
/// </summary>
public sealed class BertFamily() : Family<BertConfig>(BertModel.FamilyName, (config, device) => new BertModel(config, device),
    "BERT-style bidirectional encoder (post- or pre-LN) trained by masked language modelling on a UTF-8 text file; eval MLM loss/accuracy; sentence embeddings",
    new("0.1 s", "300 MB", 2000), defaultBatchSize: 16), IEncoderFamily
{
    /// <summary>Special ids after a tokenizer's own: [PAD], [CLS], [SEP], [MASK].</summary>
    public const int SpecialTokens = 4;

    public ITokenizer CreateTokenizer(FamilyConfig config, string text)
    {
        var c = (BertConfig)config;
        return Tokenizers.Train(c.Tokenizer, text, c.BpeVocabSize);
    }

    public FamilyConfig ForTraining(FamilyConfig config, ITokenizer tokenizer, long totalSteps)
    {
        var c = (BertConfig)config;
        int v = tokenizer.VocabSize;
        return c with
        {
            VocabSize = v + SpecialTokens, PadTokenId = v, ClsTokenId = v + 1, SepTokenId = v + 2, MaskTokenId = v + 3,
            LrDecaySteps = c.LrDecaySteps > 0 ? c.LrDecaySteps : totalSteps,
        };
    }

    /// <summary>Text tokens per window: the positions less [CLS] and [SEP].</summary>
    public int ContextLength(FamilyConfig config) => ((BertConfig)config).MaxPositionEmbeddings - 2;

    public int ValidationEvery(FamilyConfig config) => ((BertConfig)config).EvalInterval;

    public int ValidationBatches(FamilyConfig config) => ((BertConfig)config).EvalIters;
}
