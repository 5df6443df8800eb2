namespace GenSharp.Models.Diffusion;

/// <summary>Sinusoidal features of the diffusion step (Vaswani et al. 2017 §3.5, as used by Ho et al. 2020 §4).</summary>
public static class TimeEmbedding
{
    /// <summary>
    /// For steps t (B) and an even width d: feature i &lt; d/2 is sin(t·ω_i), feature d/2+i is cos(t·ω_i),
    /// with ω_i = 10000^(−i/(d/2)). Returns (B, d) float32 on t's device.
    /// </summary>
    public static Tensor Sinusoidal(Tensor t, int dim)
    {
        int half = dim / 2;
        var freqs = torch.exp(torch.arange(half, dtype: ScalarType.Float32, device: t.device) * (-Math.Log(10000.0) / half)); // (d/2)
        var args = t.to(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);                                           // (B, d/2)
        return torch.cat(new[] { args.sin(), args.cos() }, dim: 1);                                                       // (B, d)
    }
}
