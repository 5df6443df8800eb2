namespace GenSharp.Models.Energy;

/// <summary>How an energy model samples by Langevin dynamics: the number of steps and where the chains start.</summary>
public sealed record LangevinSamplerOptions : SamplerOptions
{
    /// <summary>Langevin steps (0 = the start itself).</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Chain start: <c>noise</c> (uniform in [−1, 1]) or <c>buffer</c> (the training chains, continued). Inpainting always starts the unknown pixels from noise.</summary>
    public string Init { get; init; } = "noise";

    public override void Validate()
    {
        if (Steps < 0) throw new ParameterException("steps", $"must be ≥ 0, got {Steps}");
        if (Init is not ("noise" or "buffer")) throw new ParameterException("init", $"must be noise or buffer, got '{Init}'");
    }
}
