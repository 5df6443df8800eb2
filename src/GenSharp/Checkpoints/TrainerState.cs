using System.Text.Json;
using System.Text.Json.Nodes;

namespace GenSharp.Checkpoints;

/// <summary>
/// A checkpoint's <c>trainer_state.json</c>: what resuming needs besides the weights and the optimizer state (the loop
/// settings the run was started with, the steps skipped so far and libtorch's RNG state).
/// </summary>
/// <param name="Step">Steps done.</param>
/// <param name="Seed">The run's seed (batch order, weight initialisation).</param>
/// <param name="BatchSize">The run's batch size.</param>
/// <param name="TotalSteps">Steps the run was asked for.</param>
/// <param name="EmaDecay">EMA decay of the weights; null when the run kept no EMA.</param>
/// <param name="Optimizers">Number of optimizers whose state optimizer.bin holds.</param>
/// <param name="SkippedSteps">Steps skipped so far for a NaN/Inf loss.</param>
/// <param name="RngState">libtorch's CPU generator state.</param>
public sealed record TrainerState(long Step, long Seed, int BatchSize, long TotalSteps, double? EmaDecay, int Optimizers,
    long SkippedSteps, byte[] RngState)
{
    /// <summary>The <c>format_version</c> this release writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>The JSON text written as <c>trainer_state.json</c>.</summary>
    public string ToJsonText() => new JsonObject
    {
        ["format_version"] = FormatVersion,
        ["step"] = Step,
        ["seed"] = Seed,
        ["batch_size"] = BatchSize,
        ["total_steps"] = TotalSteps,
        ["ema_decay"] = EmaDecay,
        ["optimizers"] = Optimizers,
        ["skipped_steps"] = SkippedSteps,
        ["rng_state"] = Convert.ToBase64String(RngState),
    }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Reads a <c>trainer_state.json</c>; a one-line error names the file when it is corrupt or of another format.</summary>
    public static TrainerState Read(string path)
    {
        try
        {
            var state = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            int version = state["format_version"]?.GetValue<int>() ?? -1;
            if (version != FormatVersion)
                throw new GenSharpException($"{path}: trainer state format {version} is not supported (expected {FormatVersion})");
            return new TrainerState(
                state["step"]!.GetValue<long>(),
                state["seed"]!.GetValue<long>(),
                state["batch_size"]!.GetValue<int>(),
                state["total_steps"]!.GetValue<long>(),
                state["ema_decay"]?.GetValue<double?>(),
                state["optimizers"]?.GetValue<int>() ?? 0,
                state["skipped_steps"]?.GetValue<long>() ?? 0,   // written since NaN steps could be skipped
                Convert.FromBase64String(state["rng_state"]!.GetValue<string>()));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new GenSharpException($"{path} is not a valid trainer state: {e.Message.Split('\n')[0]}");
        }
    }
}
