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

    /// <summary>Throws a one-line error unless <paramref name="min"/> ≤ <paramref name="value"/> ≤ <paramref name="max"/>.</summary>
    protected static void RequireIn(long value, string field, long min, long max) =>
        Require(value >= min && value <= max, field, $"in [{min}, {max}]", value);
}
