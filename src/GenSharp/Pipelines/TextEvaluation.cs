using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Text;

namespace GenSharp.Pipelines;

/// <summary>A language model's held-out loss on a text file (load one with <see cref="Checkpoints.Checkpoint.LoadTextModel"/>).</summary>
public static class TextEvaluation
{
    /// <summary>
    /// Validation loss of a text file's last 10% (the split training held out): every disjoint window
    /// of context + 1 tokens, each token predicted from the earlier tokens of its window. Returns
    /// val_loss (nats/token), val_perplexity, val_bits_per_char and counts. Windows are
    /// <paramref name="context"/> tokens (default: the model's context length).
    /// </summary>
    public static Dictionary<string, double> Run(ILanguageModel model, ITokenizer tokenizer, string path, int batchSize = 32, int? context = null)
    {
        if (batchSize < 1) throw new ParameterException("batch_size", $"must be ≥ 1, got {batchSize}");
        int window = context ?? model.ContextLength;
        if (window < 1 || window > model.ContextLength) throw new ParameterException("context", $"must be in [1, {model.ContextLength}] (the model's context), got {window}");
        var text = TextCorpus.ReadText(path);
        var corpus = TextCorpus.FromText(path, text, tokenizer);
        var val = corpus.ValidationTokens;
        if (val.Count < window + 1)
            throw new GenSharpException($"the validation part of {path} (last 10%, {val.Count} tokens) is shorter than one window of {window} + 1 tokens; use a longer text");
        double total = 0;
        long tokens = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (x, y) in TextBatches.Sequential(val, window, batchSize))
        {
            using (x) using (y)
            {
                total += model.Loss(x, y) * y.numel();
                tokens += y.numel();
            }
        }
        double loss = total / tokens;
        // Characters covered by the scored tokens (each window's first token is context only).
        long windows = (val.Count - 1) / window;
        int scoredChars = tokenizer.Decode(val.Skip(1).Take((int)(windows * window))).Length;
        return new Dictionary<string, double>
        {
            ["val_loss"] = loss,
            ["val_perplexity"] = Math.Exp(loss),
            ["val_bits_per_char"] = total / Math.Max(1, scoredChars) / Math.Log(2),
            ["val_tokens"] = tokens,
            ["tokens_per_s"] = tokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds),
        };
    }
}
