using System.Text.Json;
using System.Text.Json.Nodes;
using GenSharp.Checkpoints;
using GenSharp.Models;
using static TorchSharp.torch;

namespace GenSharp.Workflows;

/// <summary>A model read back from a checkpoint folder.</summary>
/// <param name="Family">Its family.</param>
/// <param name="Model">The built model with the checkpoint's weights (EMA weights when the run kept them).</param>
/// <param name="Path">The checkpoint folder.</param>
/// <param name="Manifest">The checkpoint's config.json.</param>
public sealed record LoadedModel(IFamily Family, IGenerativeModel Model, string Path, JsonObject Manifest) : IDisposable
{
    /// <summary>Steps the checkpoint was trained for.</summary>
    public long Step => Manifest["step"]?.GetValue<long>() ?? 0;
    public void Dispose() => Model.Dispose();
}

/// <summary>Reads checkpoint folders written by the trainer.</summary>
public static class ModelLoader
{
    /// <summary>Reads and parses a checkpoint's config.json (family + config).</summary>
    public static (IFamily Family, FamilyConfig Config, JsonObject Manifest) ReadManifest(string checkpointDir)
    {
        var path = System.IO.Path.Combine(checkpointDir, CheckpointFolder.ConfigFile);
        JsonObject manifest;
        try { manifest = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new JsonException("empty"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        { throw new GenSharpException($"{path} is not valid JSON ({e.Message.Split('\n')[0]}); the checkpoint is corrupt"); }
        if (manifest["family"] is null && manifest["model_type"] is not null)
            throw new GenSharpException($"{checkpointDir} is a Hugging Face model folder (model_type {manifest["model_type"]!.ToJsonString()}); only the text commands read it: gensharp generate / gensharp eval --data FILE.txt");
        var familyName = manifest["family"]?.GetValue<string>()
            ?? throw new GenSharpException($"{path} has no \"family\" field; the checkpoint is corrupt");
        var family = FamilyRegistry.Get(familyName);
        var configJson = manifest["config"] as JsonObject
            ?? throw new GenSharpException($"{path} has no \"config\" object; the checkpoint is corrupt");
        var config = family.ReadConfig((JsonObject)configJson.DeepClone());
        return (family, config, manifest);
    }

    /// <summary>Loads a checkpoint (folder or run folder) onto a device, using EMA weights when present.</summary>
    public static LoadedModel Load(string path, Device device, bool preferEma = true)
    {
        var dir = CheckpointFolder.Resolve(path);
        var (family, config, manifest) = ReadManifest(dir);
        var model = family.Build(config, device);
        try
        {
            var weights = System.IO.Path.Combine(dir, CheckpointFolder.ModelFile);
            if (!File.Exists(weights)) throw new GenSharpException($"{dir} has no {CheckpointFolder.ModelFile}; the checkpoint is incomplete");
            using (var st = Safetensors.Load(weights))
                ModuleState.Load(model.Model, st.Tensors, weights, model.ObsoleteTensorNames);
            var ema = System.IO.Path.Combine(dir, CheckpointFolder.EmaFile);
            if (preferEma && File.Exists(ema))
            {
                using var st = Safetensors.Load(ema);
                ModuleState.Load(model.Model, st.Tensors, ema, model.ObsoleteTensorNames);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new LoadedModel(family, model, dir, manifest);
    }
}
