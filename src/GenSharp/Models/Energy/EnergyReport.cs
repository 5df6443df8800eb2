namespace GenSharp.Models.Energy;

/// <summary>The per-batch metric sums of the energy families' evaluation.</summary>
internal static class EnergyReport
{
    /// <summary>
    /// nll (sum over the batch), free energy (sum), and the AIS figures times the batch size <paramref name="b"/>
    /// (constants, so the dataset average is the figure itself). Infinite or undefined figures are left out.
    /// </summary>
    public static Dictionary<string, double> Metrics(double sumNll, double sumFreeEnergy, AisEstimate ais, double b, string nllKey = "nll", string freeKey = "free_energy")
    {
        var r = new Dictionary<string, double>
        {
            [nllKey] = sumNll,
            [freeKey] = sumFreeEnergy,
            ["log_z"] = ais.LogZ * b,
            ["log_z_base"] = ais.LogZBase * b,
            ["log_z_plus_3sigma"] = ais.LogZPlus3Sigma * b,
            ["ais_chains"] = ais.Chains * b,
            ["ais_betas"] = ais.Betas * b,
            ["ais_runs"] = ais.Runs * b,
        };
        if (double.IsFinite(ais.LogZMinus3Sigma)) r["log_z_minus_3sigma"] = ais.LogZMinus3Sigma * b;
        if (double.IsFinite(ais.RunStd)) r["log_z_std"] = ais.RunStd * b;
        return r;
    }
}
