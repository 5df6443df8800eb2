namespace GenSharp.Models.Music;

/// <summary>
/// The token encoding of a chorale. Tokens 0–127 are MIDI pitches, <see cref="RestToken"/> a silent voice (SATB form),
/// <see cref="StepEnd"/> closes a step of the piano roll, <see cref="Start"/> pads the beginning. A SATB piece of N steps
/// is four starts and then S, A, T, B of every step (4N + 4 tokens, token i has voice i mod 4); a roll piece is one start
/// and then each step's pitches in ascending order and a step end. Every step's tokens are predicted, so the NLL of a
/// piece is the sum over its tokens after the starts.
/// </summary>
public static class MusicTokens
{
    /// <summary>A silent voice.</summary>
    public const int RestToken = 128;
    /// <summary>End of a piano-roll step.</summary>
    public const int StepEnd = 129;
    /// <summary>Start padding.</summary>
    public const int Start = 130;
    /// <summary>Vocabulary size.</summary>
    public const int VocabSize = 131;

    /// <summary>Start tokens before the first step.</summary>
    public static int Prefix(MusicEncoding e) => e == MusicEncoding.Satb16 ? 4 : 1;

    /// <summary>The tokens of a piece (steps as in <see cref="Data.JsbChorales"/>).</summary>
    public static long[] Encode(IReadOnlyList<int[]> steps, MusicEncoding e)
    {
        var t = new List<long>(Enumerable.Repeat((long)Start, Prefix(e)));
        foreach (var step in steps)
        {
            if (e == MusicEncoding.Satb16)
            {
                if (step.Length != 4) throw new ArgumentException($"a SATB step has four voices, got {step.Length}");
                t.AddRange(step.Select(p => p < 0 ? RestToken : (long)p));
            }
            else
            {
                t.AddRange(step.Where(p => p >= 0).Distinct().Order().Select(p => (long)p));
                t.Add(StepEnd);
            }
        }
        return t.ToArray();
    }

    /// <summary>The steps of a token sequence (starts skipped; a trailing incomplete step dropped).</summary>
    public static List<int[]> Decode(IReadOnlyList<long> tokens, MusicEncoding e)
    {
        var steps = new List<int[]>();
        var body = tokens.SkipWhile(t => t == Start).ToList();
        if (e == MusicEncoding.Satb16)
        {
            for (int i = 0; i + 4 <= body.Count; i += 4)
                steps.Add(body.Skip(i).Take(4).Select(t => t is >= 0 and < 128 ? (int)t : -1).ToArray());
            return steps;
        }
        var current = new List<int>();
        foreach (var t in body)
        {
            if (t == StepEnd) { steps.Add(current.Distinct().Order().ToArray()); current = new List<int>(); }
            else if (t is >= 0 and < 128) current.Add((int)t);
        }
        return steps;
    }
}
