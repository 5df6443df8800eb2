namespace GenSharp.Models.Flows;

/// <summary>How a normalizing flow samples: z ~ N(0, T²·I) pushed through the inverse flow.</summary>
public sealed record FlowSamplerOptions : SamplerOptions
{
    /// <summary>Temperature T: 1 = the model's own distribution, 0 = the mode of the prior, in between sharper samples (Kingma &amp; Dhariwal 2018, §5).</summary>
    public double Temperature { get; init; } = 1;

    public override void Validate()
    {
        if (!(Temperature >= 0 && Temperature <= 10)) throw new ParameterException("temperature", $"must be in [0, 10], got {Temperature}");
    }
}
