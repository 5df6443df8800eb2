namespace GenSharp.Models;

/// <summary>
/// Base of every family's config record. Configs are immutable, round-trip through JSON
/// (snake_case names) and are validated up front with a message naming the field and its range.
/// Image families derive <see cref="ImageFamilyConfig"/>, which adds the data's geometry.
/// </summary>
public abstract record FamilyConfig
{
    /// <summary>Throws <see cref="GenSharpException"/> naming the first invalid field.</summary>
    public virtual void Validate() { }

    /// <summary>Throws a one-line error when <paramref name="ok"/> is false.</summary>
    protected static void Require(bool ok, string field, string allowed, object value)
    {
        if (!ok) throw new GenSharpException($"config field {field} must be {allowed}, got {value}");
    }

    /// <summary>learning_rate in (0, 1), the range of the Adam-trained families.</summary>
    protected static void RequireLearningRate(double learningRate) =>
        Require(learningRate > 0 && learningRate < 1, "learning_rate", "in (0, 1)", learningRate);

    /// <summary>grad_clip, the gradient-norm bound the trainer applies: a finite number ≥ 0 (0 = off).</summary>
    protected static void RequireGradClip(double gradClip) =>
        Require(gradClip >= 0 && double.IsFinite(gradClip), "grad_clip", "a finite number ≥ 0 (0 = off)", gradClip);

    /// <summary>Adam's beta1 and beta2, each in [0, 1).</summary>
    protected static void RequireAdamBetas(double beta1, double beta2)
    {
        Require(beta1 >= 0 && beta1 < 1, "beta1", "in [0, 1)", beta1);
        Require(beta2 >= 0 && beta2 < 1, "beta2", "in [0, 1)", beta2);
    }

    /// <summary>Throws a one-line error unless <paramref name="min"/> ≤ <paramref name="value"/> ≤ <paramref name="max"/>.</summary>
    protected static void RequireIn(long value, string field, long min, long max) =>
        Require(value >= min && value <= max, field, $"in [{min}, {max}]", value);
}
