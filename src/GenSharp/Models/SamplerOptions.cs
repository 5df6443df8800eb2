using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace GenSharp.Models;

/// <summary>
/// The knobs of a family's sampler (a diffusion scheduler and its steps, Langevin steps, a flow's temperature ...),
/// chosen at sampling time without retraining. Each family derives a record whose properties are its options; the
/// model's <see cref="IImageSampler.DefaultSamplerOptions"/> holds the values its config asks for. Front ends set
/// options by their snake_case names (<see cref="With"/>) and never need to know the family.
/// </summary>
public abstract record SamplerOptions
{
    /// <summary>The options of a sampler that has none (a VAE decodes a prior draw; a GAN maps noise).</summary>
    public static SamplerOptions None { get; } = new NoSamplerOptions();

    /// <summary>Throws <see cref="ParameterException"/> naming the first invalid option.</summary>
    public virtual void Validate() { }

    /// <summary>snake_case names of the options this record has.</summary>
    public IReadOnlyList<string> Names => Properties(GetType()).Select(p => p.Name).ToList();

    /// <summary>
    /// A copy with the named options set from text (parsed by each option's type; "null" clears a nullable one),
    /// validated. An option the record does not have is a <see cref="ParameterException"/> that names the options it has.
    /// </summary>
    public SamplerOptions With(IReadOnlyDictionary<string, string> values, string family)
    {
        if (values.Count == 0) return this;
        var props = Properties(GetType()).ToDictionary(p => p.Name, p => p.Property);
        var copy = this with { };
        foreach (var (name, text) in values)
        {
            if (!props.TryGetValue(name, out var prop))
                throw new ParameterException(name, $"does not apply to {family} checkpoints: no sampling {name.Replace('_', ' ')} " +
                    (props.Count == 0 ? "(its sampler has no options)" : $"(its sampler options: {string.Join(", ", props.Keys)})"));
            prop.SetValue(copy, Parse(name, text, prop.PropertyType));
        }
        copy.Validate();
        return copy;
    }

    static object? Parse(string name, string text, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (text == "null" && (Nullable.GetUnderlyingType(type) is not null || !type.IsValueType)) return null;
        var ci = CultureInfo.InvariantCulture;
        if (t == typeof(int))
            return int.TryParse(text, NumberStyles.Integer, ci, out var i) ? i : throw new ParameterException(name, $"must be a whole number, got '{text}'");
        if (t == typeof(double))
            return double.TryParse(text, NumberStyles.Float, ci, out var d) ? d : throw new ParameterException(name, $"must be a number, got '{text}'");
        if (t == typeof(bool))
            return bool.TryParse(text, out var b) ? b : throw new ParameterException(name, $"must be true or false, got '{text}'");
        if (t == typeof(string)) return text;
        throw new InvalidOperationException($"sampler option {name} has an unsupported type {t.Name}");
    }

    static IEnumerable<(string Name, PropertyInfo Property)> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.Name != "EqualityContract")
            .Select(p => (JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), p));

    /// <summary>Options and values as "name value" pairs, for logs and metric records.</summary>
    public IReadOnlyDictionary<string, object?> Describe() =>
        Properties(GetType()).ToDictionary(p => p.Name, p => p.Property.GetValue(this));

    sealed record NoSamplerOptions : SamplerOptions;
}
