using System.Text.Json.Nodes;
using GenSharp.Distributed;

namespace GenSharp.Training;

/// <summary>Everything a <see cref="TrainingRun"/> needs, as a front end collects it.</summary>
public sealed record TrainRequest
{
    public required string Family { get; init; }
    public required string OutDir { get; init; }
    /// <summary>Dataset path, "embedded", or null for the default resolution.</summary>
    public string? Data { get; init; }
    public long? Steps { get; init; }
    public int? Epochs { get; init; }
    public int? BatchSize { get; init; }
    public long? Seed { get; init; }
    /// <summary>Config file contents (flat config fields, or a checkpoint config.json).</summary>
    public JsonObject? ConfigFile { get; init; }
    public IReadOnlyList<string> Sets { get; init; } = Array.Empty<string>();
    public bool Resume { get; init; }
    public string Device { get; init; } = "cpu";
    /// <summary>Leave this class out of the training data (anomaly detection).</summary>
    public int? ExcludeClass { get; init; }
    /// <summary>Keep only the first N training images.</summary>
    public int? Limit { get; init; }
    public long? CheckpointEvery { get; init; }
    public long? SampleEvery { get; init; }
    public double? EmaDecay { get; init; }
    public int Threads { get; init; }
    /// <summary>Train data-parallel over the ranks of an MPI job (<see cref="BatchSize"/> is then the global batch); null for one process.</summary>
    public DataParallel? Parallel { get; init; }
    /// <summary>Receives lines worth telling the user before training starts (which data, where it came from).</summary>
    public Action<string>? Log { get; init; }
}
