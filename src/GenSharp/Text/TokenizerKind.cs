namespace GenSharp.Text;

/// <summary>Which tokenizer a text model uses.</summary>
public enum TokenizerKind
{
    /// <summary>One token per Unicode character seen in the training text (<see cref="CharTokenizer"/>).</summary>
    Char,
    /// <summary>Byte-level byte-pair encoding learned on the training text (<see cref="BpeTokenizer"/>).</summary>
    Bpe,
    /// <summary>A Hugging Face <c>tokenizer.json</c> of a pretrained model (<see cref="HfTokenizer"/>), read-only.</summary>
    HuggingFace,
}
