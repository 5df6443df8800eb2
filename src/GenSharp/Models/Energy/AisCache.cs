namespace GenSharp.Models.Energy;

/// <summary>
/// The AIS estimate of an RBM's log Z for the last evaluation settings, so the batches of one evaluation share a
/// single estimate (rbm: the RBM itself; dbn: its top RBM). Draws from torch's global generator.
/// </summary>
internal sealed class AisCache
{
    (EvalSettings Settings, AisEstimate Estimate)? _last;

    /// <summary>log Z of <paramref name="rbm"/> from its base-rate model with the settings' chains, intermediate distributions and runs.</summary>
    public AisEstimate Get(Rbm rbm, EvalSettings settings)
    {
        if (_last is { } cached && cached.Settings == settings) return cached.Estimate;
        using var _ = torch.no_grad();
        var estimate = AnnealedImportanceSampling.Estimate(rbm, rbm.BaseRateBias(), settings.AisChains, settings.AisBetas, settings.AisRuns);
        _last = (settings, estimate);
        return estimate;
    }
}
