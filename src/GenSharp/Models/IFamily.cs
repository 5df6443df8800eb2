using System.Text.Json.Nodes;

namespace GenSharp.Models;

/// <summary>
/// A model family as the CLI, server and evaluation code see it: a name, a config type with
/// defaults, and a builder. The registry maps names to these.
/// </summary>
public interface IFamily
{
    /// <summary>Registry name, e.g. "vae".</summary>
    string Name { get; }
    /// <summary>One-line description.</summary>
    string Summary { get; }
    /// <summary>Default config.</summary>
    FamilyConfig DefaultConfig { get; }
    /// <summary>Batch size used when the user gives none.</summary>
    int DefaultBatchSize { get; }
    /// <summary>Reads a config from JSON (missing fields take defaults); validates it.</summary>
    FamilyConfig ReadConfig(JsonObject json);
    /// <summary>Builds a fresh model (weights initialised from libtorch's RNG) on a device.</summary>
    IGenerativeModel Build(FamilyConfig config, Device device);
    /// <summary>Cost of a first run on 2 CPU cores (step time, memory, a suggested step count); null when not measured.</summary>
    FamilyGuidance? Guidance => null;
    /// <summary>EMA decay used when the user gives none; null = no EMA (diffusion recipes sample from an EMA).</summary>
    double? DefaultEmaDecay => null;
}
