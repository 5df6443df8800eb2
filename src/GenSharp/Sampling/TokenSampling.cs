namespace GenSharp.Sampling;

/// <summary>
/// Next-token selection as plain functions on logits (B, V). Each filter returns new logits in which
/// removed tokens are −∞, so they compose and the result can go through softmax.
/// </summary>
public static class TokenSampling
{
    /// <summary>
    /// CTRL repetition penalty (Keskar et al. 2019, §4.1): the logit of every token that occurs in
    /// <paramref name="previous"/> (B, L) is divided by θ when positive and multiplied by θ when negative.
    /// </summary>
    public static Tensor RepetitionPenalty(Tensor logits, Tensor previous, double penalty)
    {
        if (penalty == 1.0 || previous.shape[1] == 0) return logits;
        var seen = logits.gather(1, previous);                                       // (B, L)
        var penalised = torch.where(seen.gt(0), seen / penalty, seen * penalty);
        return logits.scatter(1, previous, penalised);
    }

    /// <summary>
    /// OpenAI's presence and frequency penalties: logit[j] − c[j]·frequency − [c[j] &gt; 0]·presence, where
    /// <paramref name="counts"/> (B, V) holds how often each token was generated so far.
    /// </summary>
    public static Tensor PresenceFrequencyPenalty(Tensor logits, Tensor counts, double presence, double frequency)
    {
        if (presence == 0 && frequency == 0) return logits;
        var c = counts.to_type(logits.dtype);
        return logits - c * frequency - c.gt(0).to_type(logits.dtype) * presence;
    }

    /// <summary>How often each token occurs in each row of <paramref name="generated"/>, (B, V) float32 on the CPU.</summary>
    public static Tensor Counts(IReadOnlyList<IReadOnlyList<int>> generated, int vocabSize)
    {
        var counts = new float[generated.Count * vocabSize];
        for (int r = 0; r < generated.Count; r++)
            foreach (var token in generated[r]) counts[r * vocabSize + token]++;
        return torch.tensor(counts, new long[] { generated.Count, vocabSize });
    }

    /// <summary>Logits / T (T &gt; 0); T &lt; 1 sharpens, T &gt; 1 flattens.</summary>
    public static Tensor Temperature(Tensor logits, double temperature) =>
        temperature == 1.0 ? logits : logits / temperature;

    /// <summary>Keeps the <paramref name="k"/> largest logits of each row (ties with the k-th are kept too).</summary>
    public static Tensor TopK(Tensor logits, int k)
    {
        if (k <= 0 || k >= logits.shape[1]) return logits;
        var kth = logits.topk(k, dim: 1).values.narrow(1, k - 1, 1);               // (B, 1)
        return logits.masked_fill(logits.lt(kth), double.NegativeInfinity);
    }

    /// <summary>
    /// Nucleus filter (Holtzman et al. 2020, Eq. 3): keeps the smallest set of most likely tokens whose
    /// total probability is ≥ <paramref name="p"/>; the most likely token always stays.
    /// </summary>
    public static Tensor TopP(Tensor logits, double p)
    {
        if (p >= 1.0) return logits;
        var (sorted, order) = logits.sort(dim: 1, descending: true);               // (B, V)
        var probs = sorted.softmax(1);
        var before = probs.cumsum(1) - probs;                                       // mass of the tokens ranked above
        var dropSorted = before.ge(p);                                              // rank 0 has before = 0 < p
        var drop = torch.zeros_like(dropSorted).scatter(1, order, dropSorted);      // back to vocabulary order
        return logits.masked_fill(drop, double.NegativeInfinity);
    }

    /// <summary>Min-p filter (Nguyen et al. 2024): drops tokens with probability &lt; min_p × the largest probability.</summary>
    public static Tensor MinP(Tensor logits, double minP)
    {
        if (minP <= 0) return logits;
        var probs = logits.softmax(1);
        var threshold = probs.amax(new long[] { 1 }, keepdim: true) * minP;        // (B, 1)
        return logits.masked_fill(probs.lt(threshold), double.NegativeInfinity);
    }

    /// <summary>
    /// Applies the options' filters in order: repetition penalty (over <paramref name="previous"/> tokens), presence and
    /// frequency penalties (over the <paramref name="counts"/> of generated tokens), temperature, top-k, top-p, min-p.
    /// </summary>
    public static Tensor Filter(Tensor logits, Tensor? previous, GenerationOptions o, Tensor? counts = null)
    {
        var x = previous is null ? logits : RepetitionPenalty(logits, previous, o.RepetitionPenalty);
        if (counts is not null) x = PresenceFrequencyPenalty(x, counts, o.PresencePenalty, o.FrequencyPenalty);
        if (o.Temperature == 0) return x;
        x = Temperature(x, o.Temperature);
        x = TopK(x, o.TopK);
        x = TopP(x, o.TopP);
        return MinP(x, o.MinP);
    }

    /// <summary>
    /// The next token of each row (B) int64: argmax when the temperature is 0, otherwise a draw from
    /// softmax of the filtered logits with <paramref name="generator"/> (which must live on the logits' device).
    /// </summary>
    public static Tensor Next(Tensor logits, Tensor? previous, GenerationOptions o, Generator? generator, Tensor? counts = null)
    {
        var filtered = Filter(logits.to_type(ScalarType.Float32), previous, o, counts);
        if (o.Temperature == 0) return filtered.argmax(1);
        return torch.multinomial(filtered.softmax(1), 1, generator: generator).squeeze(1);
    }
}
