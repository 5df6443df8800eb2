namespace GenSharp.Models;

/// <summary>A bidirectional encoder trained by masked language modelling: it scores token windows under fixed masks.</summary>
public interface IMaskedLanguageModel : ITextLoss
{
    /// <summary>Text tokens per window (the model adds its own start and end tokens).</summary>
    int WindowLength { get; }

    /// <summary>
    /// Summed cross-entropy (nats) at the masked positions, correct top-1 predictions and masked tokens of token windows
    /// (B, T), masked with <paramref name="generator"/> (null: a fixed seed, the same masks every call), in eval mode.
    /// </summary>
    (double Loss, double Correct, double Count) Evaluate(Tensor windows, torch.Generator? generator = null);
}
