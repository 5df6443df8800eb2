namespace GenSharp.Models.Encoders;

/// <summary>The feed-forward nonlinearity of a BERT layer (Hugging Face's <c>hidden_act</c>).</summary>
public enum BertActivation
{
    /// <summary>GELU with the exact normal CDF (erf form), BERT's <c>gelu</c>.</summary>
    Gelu,
    /// <summary>GELU by its tanh approximation (<c>gelu_new</c>, <c>gelu_pytorch_tanh</c>).</summary>
    GeluTanh,
    /// <summary>max(0, x).</summary>
    Relu,
}
