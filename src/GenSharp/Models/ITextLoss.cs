namespace GenSharp.Models;

/// <summary>A text model whose loss on held-out token windows training can estimate (the validation loss of a text run).</summary>
public interface ITextLoss
{
    /// <summary>Mean loss in nats/token of a batch of token windows: <paramref name="inputs"/> (B, T) and their next tokens <paramref name="targets"/> (B, T), in eval mode.</summary>
    double Loss(Tensor inputs, Tensor targets);
}
