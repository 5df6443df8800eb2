namespace GenSharp.Sampling;

/// <summary>How text is decoded. The filters apply in this order: repetition penalty, presence and frequency penalties, temperature, top-k, top-p, min-p.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate after the prompt (per sequence).</summary>
    public int MaxNewTokens { get; init; } = 200;
    /// <summary>Softmax temperature; 0 = greedy (always the most likely token).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Keep only the k most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches p (1 = off).</summary>
    public double TopP { get; init; } = 1.0;
    /// <summary>Drop tokens less likely than min_p × the most likely token's probability (0 = off).</summary>
    public double MinP { get; init; }
    /// <summary>CTRL repetition penalty θ on tokens already in the sequence (1 = off).</summary>
    public double RepetitionPenalty { get; init; } = 1.0;
    /// <summary>OpenAI's presence penalty: subtracted once from the logit of every token generated so far (0 = off; −2 … 2).</summary>
    public double PresencePenalty { get; init; }
    /// <summary>OpenAI's frequency penalty: subtracted from a token's logit once per time it was generated so far (0 = off; −2 … 2).</summary>
    public double FrequencyPenalty { get; init; }
    /// <summary>Seed of the sampling generator (independent of torch's global RNG).</summary>
    public long Seed { get; init; }
    /// <summary>Generation of a sequence stops when its text contains one of these; the stop text is not returned.</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = Array.Empty<string>();
    /// <summary>Reuse keys/values of earlier tokens (KV cache); false recomputes the whole window every token.</summary>
    public bool UseCache { get; init; } = true;
    /// <summary>Keep generating past end-of-sequence tokens (for benchmarks that need exactly <see cref="MaxNewTokens"/>).</summary>
    public bool IgnoreEos { get; init; }
    /// <summary>
    /// Prompt-lookup speculative decoding: up to this many draft tokens, copied from where the sequence's last tokens
    /// occurred before, are checked in one forward pass and kept as far as greedy decoding agrees (0 = off). The output is
    /// plain greedy decoding's; it applies to one greedy sequence with the cache and without penalties.
    /// </summary>
    public int PromptLookup { get; init; }

    /// <summary>Whether <see cref="PromptLookup"/> takes effect for <paramref name="rows"/> sequences.</summary>
    public bool UsesPromptLookup(int rows) =>
        PromptLookup > 0 && rows == 1 && Temperature == 0 && UseCache && RepetitionPenalty == 1.0 && !PenalisesGenerated;

    /// <summary>Throws a one-line error naming the first bad option.</summary>
    /// <summary>True when presence or frequency penalties need the counts of the generated tokens.</summary>
    public bool PenalisesGenerated => PresencePenalty != 0 || FrequencyPenalty != 0;

    public void Validate()
    {
        if (MaxNewTokens < 0 || MaxNewTokens > 1_000_000) throw new ParameterException("max_new_tokens", $"must be in [0, 1000000], got {MaxNewTokens}");
        if (!(Temperature >= 0 && Temperature <= 100)) throw new ParameterException("temperature", $"must be in [0, 100] (0 = greedy), got {Temperature}");
        if (TopK < 0) throw new ParameterException("top_k", $"must be ≥ 0 (0 = off), got {TopK}");
        if (PromptLookup < 0 || PromptLookup > 64) throw new ParameterException("prompt_lookup", $"must be in [0, 64] draft tokens (0 = off), got {PromptLookup}");
        if (!(TopP > 0 && TopP <= 1)) throw new ParameterException("top_p", $"must be in (0, 1] (1 = off), got {TopP}");
        if (!(MinP >= 0 && MinP <= 1)) throw new ParameterException("min_p", $"must be in [0, 1] (0 = off), got {MinP}");
        if (!(RepetitionPenalty > 0 && RepetitionPenalty <= 100)) throw new ParameterException("repetition_penalty", $"must be in (0, 100] (1 = off), got {RepetitionPenalty}");
        if (!(PresencePenalty >= -2 && PresencePenalty <= 2)) throw new ParameterException("presence_penalty", $"must be in [-2, 2] (0 = off), got {PresencePenalty}");
        if (!(FrequencyPenalty >= -2 && FrequencyPenalty <= 2)) throw new ParameterException("frequency_penalty", $"must be in [-2, 2] (0 = off), got {FrequencyPenalty}");
        if (StopSequences.Any(string.IsNullOrEmpty)) throw new ParameterException("stop", "must not be empty");
    }
}
