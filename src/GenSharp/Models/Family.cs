using System.Text.Json.Nodes;

namespace GenSharp.Models;

/// <summary>
/// A family of models with configs of type <typeparamref name="TConfig"/>: its registry name, a one-line summary, the
/// builder of its models and its first-run figures. Most families are just this (one entry in
/// <see cref="FamilyRegistry"/>); a family that reads its config differently or is a text family derives from it.
/// </summary>
/// <param name="name">Registry name, e.g. "vae".</param>
/// <param name="build">Builds a model from a validated config on a device.</param>
/// <param name="summary">One-line description (shown by <c>list</c>).</param>
/// <param name="guidance">Cost of a first run on 2 CPU cores; null when not measured.</param>
/// <param name="defaultBatchSize">Batch size used when the user gives none.</param>
/// <param name="defaultEmaDecay">EMA decay used when the user gives none; null = no EMA.</param>
public class Family<TConfig>(string name, Func<TConfig, Device, IGenerativeModel> build, string summary,
    FamilyGuidance? guidance = null, int defaultBatchSize = 64, double? defaultEmaDecay = null) : IFamily
    where TConfig : FamilyConfig, new()
{
    public string Name => name;
    public string Summary => summary;
    public int DefaultBatchSize => defaultBatchSize;
    public double? DefaultEmaDecay => defaultEmaDecay;
    public FamilyGuidance? Guidance => guidance;
    public FamilyConfig DefaultConfig => new TConfig();

    public virtual FamilyConfig ReadConfig(JsonObject json) => ConfigJson.FromJson<TConfig>(json);

    public IGenerativeModel Build(FamilyConfig config, Device device)
    {
        if (config is not TConfig typed)
            throw new GenSharpException($"{Name}: expected a {typeof(TConfig).Name}, got {config.GetType().Name}");
        typed.Validate();
        return build(typed, device);
    }
}
