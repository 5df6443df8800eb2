namespace GenSharp.Models.Speech;

/// <summary>
/// Monotonic alignment search (Kim et al. 2020, "Glow-TTS", §2.3): the alignment of N tokens to T ≥ N frames that
/// maximises the summed log-likelihood of each frame under the token it is given, where every token gets at least one
/// frame, the first frame goes to the first token, the last to the last, and the token index never goes back or skips.
/// Dynamic programming: Q[i, j] = L[i, j] + max(Q[i, j−1], Q[i−1, j−1]), then a walk back from (N−1, T−1).
/// O(N·T) time; runs on the CPU per utterance.
/// </summary>
public static class MonotonicAlignment
{
    /// <summary>
    /// Frames per token (N values, each ≥ 1, summing to <paramref name="frames"/>) of the best alignment of the
    /// row-major log-likelihoods <paramref name="logLikelihood"/>[i · <paramref name="stride"/> + j] (token i, frame j).
    /// </summary>
    public static int[] Durations(ReadOnlySpan<float> logLikelihood, int tokens, int frames, int stride)
    {
        if (tokens < 1) throw new ArgumentException("at least one token is needed", nameof(tokens));
        if (frames < tokens) throw new ArgumentException($"{frames} frames cannot hold {tokens} tokens (each needs at least one frame)", nameof(frames));
        if (stride < frames || logLikelihood.Length < (long)(tokens - 1) * stride + frames)
            throw new ArgumentException("log-likelihood matrix too small for its stride", nameof(logLikelihood));
        // q[i, j] for the band of reachable cells: token i can hold frame j only when i ≤ j and N−1−i ≤ T−1−j.
        var q = new double[tokens * frames];
        var fromDiagonal = new bool[tokens * frames];
        for (int j = 0; j < frames; j++)
        {
            int lo = Math.Max(0, tokens - frames + j), hi = Math.Min(j, tokens - 1);
            for (int i = lo; i <= hi; i++)
            {
                double l = logLikelihood[i * stride + j];
                if (j == 0) { q[0] = l; continue; }
                double stay = i <= j - 1 ? q[i * frames + j - 1] : double.NegativeInfinity;          // token i held frame j−1 too
                double advance = i > 0 ? q[(i - 1) * frames + j - 1] : double.NegativeInfinity;      // token i−1 held frame j−1
                bool diag = advance > stay;
                fromDiagonal[i * frames + j] = diag;
                q[i * frames + j] = l + (diag ? advance : stay);
            }
        }
        var durations = new int[tokens];
        int token = tokens - 1;
        for (int j = frames - 1; j >= 0; j--)
        {
            durations[token]++;
            if (j > 0 && fromDiagonal[token * frames + j]) token--;
        }
        return durations;
    }
}
