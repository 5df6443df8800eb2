using System.Text.Json.Nodes;

namespace GenSharp.Models;

/// <summary>Plumbing shared by families: typed config reading and building.</summary>
public abstract class Family<TConfig> : IFamily where TConfig : FamilyConfig, new()
{
    public abstract string Name { get; }
    public abstract string Summary { get; }
    public virtual int DefaultBatchSize => 64;
    public virtual double? DefaultEmaDecay => null;
    public virtual FamilyGuidance? Guidance => null;
    public FamilyConfig DefaultConfig => new TConfig();

    public virtual FamilyConfig ReadConfig(JsonObject json) => ConfigJson.FromJson<TConfig>(json);

    public IGenerativeModel Build(FamilyConfig config, Device device)
    {
        if (config is not TConfig typed)
            throw new GenSharpException($"{Name}: expected a {typeof(TConfig).Name}, got {config.GetType().Name}");
        typed.Validate();
        return Build(typed, device);
    }

    /// <summary>Builds the model from a validated config.</summary>
    protected abstract IGenerativeModel Build(TConfig config, Device device);
}
