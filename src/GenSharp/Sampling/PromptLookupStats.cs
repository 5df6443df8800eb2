namespace GenSharp.Sampling;

/// <summary>Draft tokens proposed and accepted by prompt-lookup decoding (<see cref="GenerationOptions.PromptLookup"/>).</summary>
public sealed class PromptLookupStats
{
    long _proposed, _accepted, _checks;

    /// <summary>Forward passes that checked a draft.</summary>
    public long Checks => Interlocked.Read(ref _checks);
    /// <summary>Draft tokens proposed.</summary>
    public long Proposed => Interlocked.Read(ref _proposed);
    /// <summary>Draft tokens kept (each saves a forward pass).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);
    /// <summary>Accepted / proposed (0 when nothing was proposed).</summary>
    public double AcceptanceRate => Proposed == 0 ? 0 : (double)Accepted / Proposed;

    internal void Add(int proposed, int accepted)
    {
        Interlocked.Increment(ref _checks);
        Interlocked.Add(ref _proposed, proposed);
        Interlocked.Add(ref _accepted, accepted);
    }
}
