namespace GenSharp.Models.Energy;

/// <summary>How an RBM or a DBN samples: the number of Gibbs sweeps.</summary>
public sealed record GibbsSamplerOptions : SamplerOptions
{
    /// <summary>Gibbs sweeps (in the top RBM for a DBN).</summary>
    public int Steps { get; init; } = 1000;

    public override void Validate()
    {
        if (Steps < 0) throw new ParameterException("steps", $"must be ≥ 0, got {Steps}");
    }
}
