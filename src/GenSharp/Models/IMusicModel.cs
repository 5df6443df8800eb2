using GenSharp.Models.Music;

namespace GenSharp.Models;

/// <summary>
/// A model of chorales as sequences of time steps: it scores pieces (exact negative log-likelihood) and writes new ones,
/// from nothing, continuing a given opening, or harmonising a given soprano line.
/// </summary>
public interface IMusicModel
{
    /// <summary>Which form of the chorales it reads.</summary>
    MusicEncoding Encoding { get; }

    /// <summary>−log p of the pieces (steps as in <see cref="Data.JsbChorales"/>), summed, with the counts to normalise it.</summary>
    MusicScore Score(IReadOnlyList<int[][]> pieces);

    /// <summary>Draws one piece; returns its steps (the prime's steps first, when given).</summary>
    List<int[]> Generate(MusicGenerationOptions options);
}

/// <summary>A summed negative log-likelihood in nats and what it is summed over.</summary>
/// <param name="Nats">−Σ log p over every predicted token.</param>
/// <param name="Tokens">Predicted tokens (SATB: one per voice per step, rests included; roll: pitches plus one step end per step).</param>
/// <param name="Steps">Time steps.</param>
public sealed record MusicScore(double Nats, long Tokens, long Steps)
{
    /// <summary>Nats per token (SATB: per note, the unit of Coconet and Music Transformer).</summary>
    public double PerToken => Nats / Tokens;
    /// <summary>Nats per time step (the unit of Boulanger-Lewandowski et al. 2012 on the quarter-note roll).</summary>
    public double PerStep => Nats / Steps;
}

/// <summary>How <see cref="IMusicModel.Generate"/> draws.</summary>
public sealed record MusicGenerationOptions
{
    /// <summary>Steps to draw after the prime.</summary>
    public int Steps { get; init; } = 128;
    /// <summary>Seeds the draws (a generator of its own).</summary>
    public long Seed { get; init; }
    /// <summary>Softmax temperature.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Opening steps to continue; may be null.</summary>
    public IReadOnlyList<int[]>? Prime { get; init; }
    /// <summary>SATB only: the soprano pitch (−1 = rest) of every drawn step, which is kept while alto, tenor and bass are drawn; may be null.</summary>
    public IReadOnlyList<int>? Soprano { get; init; }
}
