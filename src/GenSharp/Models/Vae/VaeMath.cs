namespace GenSharp.Models.Vae;

/// <summary>The ELBO and IWAE terms, per item, in nats.</summary>
public static class VaeMath
{
    static readonly double Log2Pi = Math.Log(2 * Math.PI);

    /// <summary>
    /// KL(N(μ, σ²) ‖ N(0, I)) in closed form, summed over latent dims: ½ Σ (μ² + σ² − 1 − log σ²).
    /// (Kingma &amp; Welling 2014, appendix B.) Returns (B).
    /// </summary>
    public static Tensor KlToStandardNormal(Tensor mu, Tensor logVar) =>
        (mu.pow(2) + logVar.exp() - 1 - logVar).sum(1) * 0.5;

    /// <summary>log p(x|z) for a Bernoulli decoder, summed over pixels: −BCE(logits, x). Returns (B).</summary>
    public static Tensor BernoulliLogLikelihood(Tensor logits, Tensor x) =>
        -nn.functional.binary_cross_entropy_with_logits(logits, x, reduction: nn.Reduction.None).flatten(1).sum(1);

    /// <summary>log N(z; μ, diag σ²) summed over dims. Returns (...) over the leading dims.</summary>
    public static Tensor GaussianLogDensity(Tensor z, Tensor mu, Tensor logVar) =>
        ((z - mu).pow(2) * (-logVar).exp() + logVar + Log2Pi).sum(-1) * -0.5;

    /// <summary>log N(z; 0, I) summed over dims.</summary>
    public static Tensor StandardNormalLogDensity(Tensor z) => (z.pow(2) + Log2Pi).sum(-1) * -0.5;

    /// <summary>
    /// Importance-weighted bound (Burda et al. 2016, "Importance Weighted Autoencoders", eq. 8):
    /// log p(x) ≥ log (1/k) Σᵢ p(x, zᵢ) / q(zᵢ|x), zᵢ ~ q(z|x). Returns the bound (B); k = 1 is the ELBO.
    /// </summary>
    public static Tensor IwaeBound(ConvVae model, Tensor x, int k)
    {
        if (k < 1) throw new GenSharpException($"importance samples k must be ≥ 1, got {k}");
        var (mu, logVar) = model.Encode(x);                                   // (B, D) each
        long b = x.shape[0];
        var eps = torch.randn(new long[] { k, b, mu.shape[1] }, dtype: mu.dtype, device: mu.device);
        var z = mu.unsqueeze(0) + (logVar * 0.5).exp().unsqueeze(0) * eps;    // (k, B, D)
        var logits = model.DecodeLogits(z.reshape(k * b, -1));                // (k·B, C, H, W)
        var xRep = x.unsqueeze(0).expand(k, -1, -1, -1, -1).reshape(logits.shape);
        var logPxz = BernoulliLogLikelihood(logits, xRep).reshape(k, b);      // (k, B)
        var logW = logPxz + StandardNormalLogDensity(z) - GaussianLogDensity(z, mu.unsqueeze(0), logVar.unsqueeze(0));
        return torch.logsumexp(logW, 0, false) - Math.Log(k);                 // (B)
    }
}
