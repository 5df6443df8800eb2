using GenSharp.Data;
using GenSharp.Models;
using GenSharp.Models.Pretrained;
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
    /// Loads a text model from a GenSharp checkpoint (folder or run folder) or a Hugging Face model folder
    /// (config.json with model_type; see <see cref="HfModelFolder"/>) onto <paramref name="device"/>.
    /// </summary>
    public static LoadedTextModel Load(string path, torch.Device device)
    {
        if (HfModelFolder.IsHfFolder(path))
        {
            var (model, tokenizer) = HfModelFolder.Load(path, device);
            return new LoadedTextModel(model, tokenizer, model.Config.ModelType, path, 0, true, model);
        }
        var m = ModelLoader.Load(path, device);
        try
        {
            var (lm, tok) = Open(m);
            return new LoadedTextModel(lm, tok, m.Family.Name, m.Path, m.Step, false, m);
        }
        catch { m.Dispose(); throw; }
    }

    /// <summary>
    /// Validation loss of a text file's last 10% (the split training held out): every disjoint window
    /// of context + 1 tokens, each token predicted from the earlier tokens of its window. Returns
    /// val_loss (nats/token), val_perplexity, val_bits_per_char and counts. Windows are
    /// <paramref name="context"/> tokens (default: the model's context length).
    /// </summary>
    public static Dictionary<string, double> Evaluate(ILanguageModel model, ITokenizer tokenizer, string path, int batchSize = 32, int? context = null)
    {
        if (batchSize < 1) throw new GenSharpException($"--batch-size must be ≥ 1, got {batchSize}");
        int window = context ?? model.ContextLength;
        if (window < 1 || window > model.ContextLength) throw new GenSharpException($"--context must be in [1, {model.ContextLength}] (the model's context), got {window}");
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
