namespace GenSharp.Sampling;

/// <summary>
/// The order in which RePaint (Lugmayr et al. 2022, §4.2 "Resampling") walks a scheduler's timesteps: down the
/// chain in segments of <c>jump</c> steps, and after each segment back up to its start and down again, so that
/// each segment is run <c>resample</c> times in all. Going back up re-noises the whole image with
/// q(x_t | x_s), which lets the generated region catch up with the pasted known one.
/// </summary>
/// <remarks>
/// A position p in 0..n is "x at the scheduler's p-th timestep" (p = n: clean data). A plan is the list of
/// positions visited, from 0 to n: a move to p + 1 is one reverse step (one network call), a move to a lower
/// position is a jump back. With <c>resample</c> = 1 it is 0, 1, ..., n, plain inpainting.
/// </remarks>
public static class RePaintPlan
{
    /// <summary>RePaint's segment length when the caller gives none (the paper's j = 10), capped at the step count.</summary>
    public const int DefaultJump = 10;

    /// <summary>The segment length to use: <paramref name="jump"/>, or <see cref="DefaultJump"/> capped at <paramref name="steps"/>.</summary>
    public static int JumpOrDefault(int? jump, int steps) => jump ?? Math.Min(DefaultJump, steps);

    /// <summary>The positions visited, starting at 0 (pure noise) and ending at <paramref name="steps"/> (clean).</summary>
    /// <param name="steps">The scheduler's number of timesteps n, ≥ 1.</param>
    /// <param name="jump">Segment length in scheduler steps, 1..n.</param>
    /// <param name="resample">Times each segment is run, ≥ 1 (1 = no resampling).</param>
    /// <exception cref="GenSharpException">A setting is out of range.</exception>
    public static IReadOnlyList<int> Positions(int steps, int jump, int resample)
    {
        Check(steps, jump, resample);
        var plan = new List<int> { 0 };
        for (int start = 0; start < steps; start += jump)
        {
            int end = Math.Min(start + jump, steps);
            for (int pass = 0; pass < resample; pass++)
            {
                for (int p = start + 1; p <= end; p++) plan.Add(p);
                if (pass + 1 < resample) plan.Add(start);   // back up to the segment's start
            }
        }
        return plan;
    }

    /// <summary>Network calls a plan makes: every downward move is one.</summary>
    public static int NetworkCalls(int steps, int jump, int resample)
    {
        Check(steps, jump, resample);
        return steps * resample;
    }

    static void Check(int steps, int jump, int resample)
    {
        if (steps < 1) throw new GenSharpException($"inpainting needs at least 1 sampling step, got {steps}");
        if (jump < 1 || jump > steps)
            throw new ParameterException("jump", $"must be in [1, {steps}] (the sampling steps), got {jump}");
        if (resample < 1 || resample > 100)
            throw new ParameterException("resample", $"must be in [1, 100] passes per segment, got {resample}");
    }
}
