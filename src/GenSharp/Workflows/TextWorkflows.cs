using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Sampling;
using GenSharp.Text;
using TorchSharp;

namespace GenSharp.Workflows;

/// <summary>Evaluation and generation for text checkpoints.</summary>
public static class TextWorkflows
{
    /// <summary>The language model and tokenizer of a loaded checkpoint, or a one-line error when it is not a text model.</summary>
    public static (ILanguageModel Model, ITokenizer Tokenizer) Open(LoadedModel m)
    {
        if (m.Model is not ILanguageModel lm)
            throw new GenSharpException($"{m.Path} holds a {m.Family.Name} checkpoint; text commands need a text model such as gpt");
        return (lm, Tokenizers.Load(m.Path));
    }

    /// <summary>
    /// Validation loss of a text file's last 10% (the split training held out): every disjoint window
    /// of context + 1 tokens, each token predicted from the earlier tokens of its window. Returns
    /// val_loss (nats/token), val_perplexity, val_bits_per_char and counts.
    /// </summary>
    public static Dictionary<string, double> Evaluate(ILanguageModel model, ITokenizer tokenizer, string path, int batchSize = 32)
    {
        if (batchSize < 1) throw new GenSharpException($"--batch-size must be ≥ 1, got {batchSize}");
        var text = TextCorpus.ReadText(path);
        var corpus = TextCorpus.FromText(path, text, tokenizer);
        var val = corpus.ValidationTokens;
        if (val.Count < model.ContextLength + 1)
            throw new GenSharpException($"the validation part of {path} (last 10%, {val.Count} tokens) is shorter than one window of {model.ContextLength} + 1 tokens; use a longer text");
        double total = 0;
        long tokens = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var (x, y) in TextBatches.Sequential(val, model.ContextLength, batchSize))
        {
            using (x) using (y)
            {
                total += model.Loss(x, y) * y.numel();
                tokens += y.numel();
            }
        }
        double loss = total / tokens;
        // Characters covered by the scored tokens (each window's first token is context only).
        long windows = (val.Count - 1) / model.ContextLength;
        int scoredChars = tokenizer.Decode(val.Skip(1).Take((int)(windows * model.ContextLength))).Length;
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
