using System.Globalization;

namespace GenSharp.Evaluation;

/// <summary>Corruptions for denoising experiments, parsed from "gaussian:σ" or "saltpepper:p".</summary>
public sealed record ImageNoise(string Kind, double Amount)
{
    /// <summary>The kinds <see cref="Parse"/> knows.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["gaussian", "saltpepper"];

    /// <summary>Parses "KIND:AMOUNT"; a <see cref="ParameterException"/> on <c>noise</c> names what is wrong.</summary>
    public static ImageNoise Parse(string spec)
    {
        var parts = spec.Split(':');
        var kind = parts[0].Trim().ToLowerInvariant();
        if (kind == "salt-pepper") kind = "saltpepper";
        if (!Kinds.Contains(kind))
            throw new ParameterException("noise", $"{spec}: unknown noise '{parts[0]}'; known: gaussian:SIGMA, saltpepper:P (e.g. gaussian:0.3)");
        if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var a))
            throw new ParameterException("noise", $"{spec}: expected {kind}:{(kind == "gaussian" ? "SIGMA" : "P")}, e.g. {kind}:{(kind == "gaussian" ? "0.3" : "0.1")}");
        if (kind == "gaussian" && a > 0 && a <= 10) return new ImageNoise(kind, a);
        if (kind == "saltpepper" && a > 0 && a <= 1) return new ImageNoise(kind, a);
        throw new ParameterException("noise", $"{spec}: {(kind == "gaussian" ? "gaussian needs 0 < σ ≤ 10" : "saltpepper needs 0 < p ≤ 1")}");
    }

    /// <summary>Corrupts images in [0, 1] and clamps back to [0, 1].</summary>
    public Tensor Apply(Tensor x01)
    {
        if (Kind == "gaussian") return (x01 + Amount * torch.randn_like(x01)).clamp(0, 1);
        // Salt and pepper: each pixel independently replaced with probability p, half by 0, half by 1.
        var hit = torch.rand_like(x01) < Amount;
        var salt = (torch.rand_like(x01) < 0.5).to(x01.dtype);
        return torch.where(hit, salt, x01);
    }

    public override string ToString() => $"{Kind}:{Amount.ToString(CultureInfo.InvariantCulture)}";
}
