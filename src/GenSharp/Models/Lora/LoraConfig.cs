namespace GenSharp.Models.Lora;

/// <summary>
/// Settings of low-rank adapters (Hu et al. 2021, https://arxiv.org/abs/2106.09685): rank r, the scale α (the update is
/// (α/r)·B·A, or α/√r with rank-stabilised scaling, Kalajdzievski 2023), dropout on the adapter's input, and the local
/// names of the projections that get one (<c>q_proj</c>, <c>v_proj</c>, <c>c_attn</c>, …).
/// </summary>
/// <param name="Rank">r, the inner width of B·A; ≥ 1.</param>
/// <param name="Alpha">α; the update is scaled by α/r.</param>
/// <param name="Dropout">Dropout probability on the adapter's input while training, in [0, 1).</param>
/// <param name="Targets">Local projection names to adapt.</param>
/// <param name="UseRsLora">Scale by α/√r instead of α/r (PEFT's use_rslora).</param>
public sealed record LoraConfig(int Rank, double Alpha, double Dropout, IReadOnlyList<string> Targets, bool UseRsLora = false)
{
    /// <summary>The factor of B·A for an adapter of rank <paramref name="rank"/>.</summary>
    public double ScalingFor(int rank) => UseRsLora ? Alpha / Math.Sqrt(rank) : Alpha / rank;

    /// <summary>The factor of B·A at <see cref="Rank"/>.</summary>
    public double Scaling => ScalingFor(Rank);

    /// <summary>Throws a one-line <see cref="ParameterException"/> for impossible values.</summary>
    public void Validate()
    {
        if (Rank < 1) throw new ParameterException("lora_r", $"must be ≥ 1, got {Rank}");
        if (!double.IsFinite(Alpha) || Alpha <= 0) throw new ParameterException("lora_alpha", $"must be finite and > 0, got {Alpha}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ParameterException("lora_dropout", $"must be in [0, 1), got {Dropout}");
        if (Targets.Count == 0 || Targets.Any(string.IsNullOrWhiteSpace))
            throw new ParameterException("target", "needs at least one projection name, such as q_proj,v_proj");
    }
}
