namespace GenSharp.Models.Gpt;

/// <summary>The nonlinearity of a GPT MLP (Hendrycks &amp; Gimpel 2016).</summary>
public enum GptActivation
{
    /// <summary>GELU, x·Φ(x) with the exact normal CDF (erf form): nanoGPT's nn.GELU().</summary>
    Gelu,
    /// <summary>GELU by its tanh approximation, ½x(1 + tanh(√(2/π)(x + 0.044715x³))): GPT-2's gelu_new.</summary>
    GeluTanh,
}
