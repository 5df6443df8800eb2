namespace GenSharp.Models.Flows;

/// <summary>The normalisation layer RealNVP puts after every coupling layer (config field <c>norm</c>).</summary>
public enum RealNvpNorm
{
    /// <summary><see cref="BatchNormFlow"/>: batch statistics in training, running averages otherwise (the paper's choice).</summary>
    Batchnorm,
    /// <summary><see cref="RealNvpActNorm"/>: a learned per-channel affine map, independent of the batch.</summary>
    Actnorm,
    /// <summary>No normalisation layer.</summary>
    None,
}
