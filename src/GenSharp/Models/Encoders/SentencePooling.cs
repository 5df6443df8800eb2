namespace GenSharp.Models.Encoders;

/// <summary>How token states become one sentence vector (sentence-transformers' Pooling module).</summary>
public enum SentencePooling
{
    /// <summary>Mean of the token states under the attention mask ([CLS] and [SEP] included), Reimers &amp; Gurevych 2019.</summary>
    Mean,
    /// <summary>The state of the first token, [CLS].</summary>
    Cls,
}
