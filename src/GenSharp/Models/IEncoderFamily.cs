namespace GenSharp.Models;

/// <summary>A text family of encoders: its models are <see cref="IMaskedLanguageModel"/>s, evaluated by masked-token loss and accuracy rather than perplexity.</summary>
public interface IEncoderFamily : ITextFamily { }
