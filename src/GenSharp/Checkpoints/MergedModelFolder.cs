using GenSharp.Models.Gpt;
using GenSharp.Models.Pretrained;

namespace GenSharp.Checkpoints;

/// <summary>
/// Writes a decoder whose adapters were merged into its weights as a model folder of the same kind as its base, so it
/// loads like any model: a GenSharp checkpoint (the base's config.json and tokenizer.json, the merged model.safetensors,
/// no trainer state) or a Hugging Face folder (the base's config and tokenizer files, model.safetensors in float32 with
/// Hugging Face's names; gpt2's Conv1D matrices stored (in, out) again).
/// </summary>
public static class MergedModelFolder
{
    /// <summary>Writes <paramref name="network"/> (merged: no adapter left) as a folder like <paramref name="base"/>'s at <paramref name="outDir"/>.</summary>
    public static void Save(LoadedTextModel @base, DecoderNetwork network, string outDir)
    {
        if (network.NamedProjections().Any(p => p.Projection is not TorchSharp.Modules.Linear))
            throw new GenSharpException("the model still has adapters or non-dense projections; merge the adapters first");
        if (Path.GetFullPath(outDir).TrimEnd('/') == Path.GetFullPath(@base.Path).TrimEnd('/'))
            throw new GenSharpException($"{outDir} is the base model's own folder; write the merged model to another folder");
        Directory.CreateDirectory(outDir);
        bool hf = @base.Pretrained;
        foreach (var file in Directory.EnumerateFiles(@base.Path))
        {
            var name = Path.GetFileName(file);
            bool weights = name.EndsWith(".safetensors", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal)
                           || name == HfWeights.IndexFile || name is CheckpointFolder.TrainerStateFile or CheckpointFolder.OptimizerFile;
            if (!weights) File.Copy(file, Path.Combine(outDir, name), overwrite: true);
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var owned = new List<Tensor>();
        try
        {
            if (!hf)
            {
                foreach (var (k, v) in ModuleState.Collect(network)) tensors[k] = v;
            }
            else
            {
                var config = HfModelFolder.ReadConfig(@base.Path);
                foreach (var (name, p) in network.named_parameters())
                {
                    // The inverse of HfTensorNames: the same names (gpt2's bare ones load too); Conv1D weights transposed back.
                    bool conv1D = config.IsGpt2 && p.dim() == 2 && HfTensorNames.Map(config, name) is { Transpose: true };
                    if (conv1D) { var t = p.t().contiguous(); owned.Add(t); tensors[name] = t; }
                    else tensors[name] = p;
                }
            }
            Safetensors.Save(Path.Combine(outDir, hf ? HfWeights.SingleFile : CheckpointFolder.ModelFile), tensors, hf ? new Dictionary<string, string> { ["format"] = "pt" } : null);
        }
        finally { foreach (var t in owned) t.Dispose(); }
    }
}
