using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Encoders;
using GenSharp.Text;

namespace GenSharp.Pipelines;

/// <summary>A BERT encoder's masked-language-model loss and accuracy on the held-out part of a text file.</summary>
public static class MaskedLmEvaluation
{
    /// <summary>
    /// Every disjoint window of the text's last 10% (the split training held out), framed as [CLS] window [SEP] and
    /// corrupted with BERT's 15% / 80-10-10 masking from a fixed seed: mean cross-entropy (nats) and top-1 accuracy of
    /// the original tokens at the chosen positions. Returns mlm_loss, mlm_accuracy, mlm_perplexity, masked_tokens, windows.
    /// </summary>
    public static Dictionary<string, double> Run(IMaskedLanguageModel model, ITokenizer tokenizer, string path, int batchSize = 32)
    {
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        var corpus = TextCorpus.FromText(path, TextCorpus.ReadText(path), tokenizer);
        int window = model.WindowLength;
        var val = corpus.ValidationTokens;
        if (val.Count < window + 1)
            throw new GenSharpException($"the validation part of {path} (last 10%, {val.Count} tokens) is shorter than one window of {window} + 1 tokens; use a longer text");
        using var generator = new torch.Generator((ulong)BertModel.EvaluationMaskSeed);
        double loss = 0, correct = 0, count = 0, windows = 0;
        foreach (var (x, y) in TextBatches.Sequential(val, window, batchSize))
            using (x) using (y)
            {
                var (l, c, n) = model.Evaluate(x, generator);
                loss += l;
                correct += c;
                count += n;
                windows += x.shape[0];
            }
        return new Dictionary<string, double>
        {
            ["mlm_loss"] = loss / count,
            ["mlm_accuracy"] = correct / count,
            ["mlm_perplexity"] = Math.Exp(loss / count),
            ["masked_tokens"] = count,
            ["windows"] = windows,
        };
    }
}
